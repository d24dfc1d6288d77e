// The OpenID Provider the Keyward tests sign in through: panva's oidc-provider (a certified
// implementation), with one confidential client, PKCE required, and test users read afresh
// from a JSON file at every sign-in (so a test can take someone out of a group between two
// sign-ins). Started by keyward_testkit::idp::TestIdp; prints {"issuer": "..."} once listening.
//
// Environment: IDP_USERS_FILE (required), IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_REDIRECT_URIS and
// IDP_POST_LOGOUT_REDIRECT_URIS (space-separated), IDP_ID_TOKEN_TTL (seconds, default 3600).
//
// Users file: {"users": {"<login>": {"email", "email_verified", "name", "groups": [], "amr": []}},
//              "tamper_id_token": false}
// With "tamper_id_token": true the token endpoint's ID token gets a changed payload (its
// signature no longer matches): what an attacker in the middle would send.

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const usersFile = process.env.IDP_USERS_FILE;
if (!usersFile) {
  console.error('IDP_USERS_FILE is required');
  process.exit(2);
}
const data = () => JSON.parse(readFileSync(usersFile, 'utf8'));

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const words = (v) => (v || '').split(' ').filter(Boolean);

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.IDP_CLIENT_ID || 'keyward',
    client_secret: process.env.IDP_CLIENT_SECRET || 'keyward-test-secret',
    redirect_uris: words(process.env.IDP_REDIRECT_URIS),
    post_logout_redirect_uris: words(process.env.IDP_POST_LOGOUT_REDIRECT_URIS),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // amr with the openid scope: how the person authenticated goes into every ID token.
  claims: { openid: ['sub', 'amr', 'auth_time'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  // The claims the scopes grant go into the ID token itself (where Keyward reads them).
  conformIdTokenClaims: false,
  ttl: { IdToken: Number(process.env.IDP_ID_TOKEN_TTL || 3600) },
  cookies: { keys: ['keyward-test-idp-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const user = data().users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: user.email, email_verified: user.email_verified, name: user.name, groups: user.groups || [] };
      },
    };
  },
  // No consent screen: the one client is first-party.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  // The dev login form posts `login` (any password); the user's `amr` from the file is what
  // the provider then says about how they authenticated.
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const body = await new Promise((resolve) => {
      let text = '';
      ctx.req.on('data', (c) => { text += c; });
      ctx.req.on('end', () => resolve(new URLSearchParams(text)));
    });
    const login = body.get('login') || '';
    const user = data().users[login];
    if (!user) {
      ctx.status = 400;
      ctx.body = 'unknown test user';
      return;
    }
    await provider.interactionDetails(ctx.req, ctx.res);
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login, amr: user.amr || ['pwd'] } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.body && ctx.body.id_token && data().tamper_id_token) {
    const [h, p, s] = ctx.body.id_token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.email = 'mallory@evil.example';
    ctx.body = { ...ctx.body, id_token: [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.') };
  }
});

server.on('request', provider.callback());
process.stdout.write(JSON.stringify({ issuer }) + '\n');
process.on('SIGTERM', () => process.exit(0));
