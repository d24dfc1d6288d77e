//! Passwords: the policy that judges them and the Argon2id hasher that stores them.

use crate::error::{Error, Result, RuleFailure};
use crate::secret::Secret;
use argon2::password_hash::PasswordHasher as _;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The longest password accepted; it bounds the cost of hashing, not the user's choice.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A password as typed; its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(Secret);

impl Password {
    /// Wraps a password without judging it (sign-in compares; only new passwords are judged).
    pub fn new(s: impl Into<String>) -> Self {
        Password(Secret::new(s))
    }
    /// The password itself; call only to hash or verify it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The rules a new password must meet. Stored in the database as part of the security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// The fewest characters (8 to 128; at least 15 unless every class is required).
    pub min_length: u32,
    /// At least one uppercase letter.
    pub require_uppercase: bool,
    /// At least one lowercase letter.
    pub require_lowercase: bool,
    /// At least one number (any numeric character).
    pub require_digit: bool,
    /// At least one special character (neither a letter, a number nor a space).
    pub require_special: bool,
    /// Refuse passwords found in common-password dictionaries or otherwise easy to guess.
    pub block_common: bool,
}

impl Default for PasswordPolicy {
    /// The product's minimum: 8 characters, upper, lower, digit, special, no common passwords.
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_digit: true,
            require_special: true,
            block_common: true,
        }
    }
}

impl PasswordPolicy {
    /// Every rule that `password` fails; empty when it passes. `user_inputs` (email, name) count
    /// as easy to guess.
    pub fn failures(&self, password: &str, user_inputs: &[&str]) -> Vec<RuleFailure> {
        let mut out = Vec::new();
        let chars = password.chars().count();
        let mut fail = |rule: &'static str, message: String| out.push(RuleFailure { rule, message });
        if chars < self.min_length as usize {
            fail("min_length", format!("Use at least {} characters.", self.min_length));
        }
        if chars > MAX_PASSWORD_CHARS {
            fail("max_length", format!("Use at most {MAX_PASSWORD_CHARS} characters."));
        }
        if self.require_uppercase && !password.chars().any(char::is_uppercase) {
            fail("uppercase", "Include at least one uppercase letter.".into());
        }
        if self.require_lowercase && !password.chars().any(char::is_lowercase) {
            fail("lowercase", "Include at least one lowercase letter.".into());
        }
        if self.require_digit && !password.chars().any(|c| c.is_numeric()) {
            fail("digit", "Include at least one number.".into());
        }
        if self.require_special && !password.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
            fail("special", "Include at least one special character.".into());
        }
        if self.block_common && !password.is_empty() && is_easy_to_guess(password, user_inputs) {
            fail("not_common", "Choose a password that is not common or easy to guess (such as your name or email).".into());
        }
        out
    }

    /// Accepts `password` or answers `Error::PasswordPolicy` with every failed rule.
    pub fn check(&self, password: &Password, user_inputs: &[&str]) -> Result<()> {
        let failures = self.failures(password.expose(), user_inputs);
        if failures.is_empty() { Ok(()) } else { Err(Error::PasswordPolicy(failures)) }
    }

    /// The NIST SP 800-63B-4 profile: length over composition (15+ characters, no character
    /// class rules), with the blocklist.
    pub fn nist() -> Self {
        PasswordPolicy {
            min_length: 15,
            require_uppercase: false,
            require_lowercase: false,
            require_digit: false,
            require_special: false,
            block_common: true,
        }
    }

    /// Checks the values a person chose: never weaker than the product's minimum (8 characters
    /// with every class, or 15 without), and the blocklist stays on.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::invalid_field("password", "invalid_password_policy", m));
        if !(8..=128).contains(&self.min_length) {
            return bad("The minimum length must be 8 to 128 characters.");
        }
        let all_classes = self.require_uppercase && self.require_lowercase && self.require_digit && self.require_special;
        if !all_classes && self.min_length < 15 {
            return bad("Without every character class, the minimum length must be at least 15 (the NIST 800-63B-4 profile).");
        }
        if !self.block_common {
            return bad("The blocklist of common passwords cannot be turned off.");
        }
        Ok(())
    }

    /// The rules in words, each with what a page's live checklist tests (`min:N`, `upper`,
    /// `lower`, `digit`, `special`; `server` for what only the server can judge).
    pub fn checklist(&self) -> Vec<(String, String)> {
        let mut out = vec![(format!("At least {} characters", self.min_length), format!("min:{}", self.min_length))];
        for (on, text, check) in [
            (self.require_uppercase, "At least one uppercase letter", "upper"),
            (self.require_lowercase, "At least one lowercase letter", "lower"),
            (self.require_digit, "At least one number", "digit"),
            (self.require_special, "At least one special character", "special"),
            (self.block_common, "Not a common or easily guessed password", "server"),
        ] {
            if on {
                out.push((text.to_owned(), check.to_owned()));
            }
        }
        out
    }

    /// The rules in words, for forms that list them.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![format!("At least {} characters", self.min_length)];
        if self.require_uppercase {
            out.push("At least one uppercase letter".into());
        }
        if self.require_lowercase {
            out.push("At least one lowercase letter".into());
        }
        if self.require_digit {
            out.push("At least one number".into());
        }
        if self.require_special {
            out.push("At least one special character".into());
        }
        if self.block_common {
            out.push("Not a common or easily guessed password".into());
        }
        out
    }
}

/// zxcvbn's estimate below 10^8 guesses counts as easy; only the first 128 characters are
/// estimated (the estimate is quadratic), the password itself is never truncated.
fn is_easy_to_guess(password: &str, user_inputs: &[&str]) -> bool {
    let head: String = password.chars().take(128).collect();
    // Each input counts whole, word by word, and run together ("Ada Lovelace" → "adalovelace").
    let mut inputs: Vec<String> = Vec::new();
    for input in user_inputs {
        let lower = input.to_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 3).collect();
        inputs.push(words.concat());
        inputs.extend(words.iter().map(|w| (*w).to_owned()));
        inputs.push(lower.clone());
    }
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    (zxcvbn::zxcvbn(&head, &refs).score() as u8) < 2
}

/// Hashes and verifies passwords with Argon2id at OWASP's parameters (19 MiB, t=2, p=1).
///
/// Why permits and threads of its own: each hash costs ~15 ms of CPU and 19 MiB. The hashes run
/// on `parallelism` threads of their own (so the memory is bounded by the threads, which keep
/// it), with as many more waiting in their queue; the permits bound that queue, and further
/// callers wait without holding anything. The threads run at a lower scheduling priority
/// (`HASH_NICE`), so a sign-in alone gets every idle core while a flood of sign-ins cannot take
/// the cores from the async workers that answer checks and every other request: the kernel
/// gives those first call on the CPU.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    pool: Arc<HashPool>,
    dummy_hash: Arc<String>,
}

/// How much lower the hashing threads run than the rest of the process (Linux nice steps: at
/// +15 a busy async worker gets about 97 % of a core that a hash also wants; at +10, 90 %, which
/// let checks during a sign-in flood reach 5 ms at p99 once the hashing queue kept both cores busy).
const HASH_NICE: i32 = 15;

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads; they end when the last hasher that feeds them is dropped.
struct HashPool {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl HashPool {
    fn start(threads: usize) -> Result<HashPool> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("keyward-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panicking job drops its answer (the caller sees an error); the thread stays.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .map_err(Error::internal)?;
        }
        Ok(HashPool { jobs: tx })
    }

    fn submit(&self, job: Job) -> Result<()> {
        self.jobs.send(job).map_err(|_| Error::internal_msg("the password hashing threads stopped"))
    }
}

/// Lowers the calling thread's scheduling priority by `HASH_NICE`.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: plain system calls on the calling thread: gettid has no preconditions, and
    // setpriority(PRIO_PROCESS, tid) changes the nice value of that one thread on Linux.
    let failed = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, HASH_NICE) != 0
    };
    if failed {
        tracing::warn!("could not lower the priority of a password hashing thread; sign-in floods may slow other requests");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

impl PasswordHasher {
    /// A hasher allowing `parallelism` hashes at once (at least one), each on a thread of its own.
    pub fn new(parallelism: usize) -> Result<Self> {
        let dummy = hash_now("keyward-dummy-password-for-unknown-accounts", &[7u8; 16])?;
        let parallelism = parallelism.max(1);
        Ok(PasswordHasher {
            // Why a queue as long as the threads: a thread that ends a hash takes the next one at
            // once, instead of idling until an async worker is scheduled to hand it over.
            permits: Arc::new(Semaphore::new(2 * parallelism)),
            pool: Arc::new(HashPool::start(parallelism)?),
            dummy_hash: Arc::new(dummy),
        })
    }

    /// The PHC string of `password` with `salt` (16 random bytes from the caller's RNG).
    pub async fn hash(&self, password: &Password, salt: [u8; 16]) -> Result<String> {
        let pw = password.clone();
        self.run(move || hash_now(pw.expose(), &salt)).await?
    }

    /// Whether `password` matches `stored`; with `None`, checks against a dummy hash so that an
    /// unknown account costs the same time as a known one.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<bool> {
        let pw = password.clone();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.as_str().to_owned(), false),
        };
        let ok = self.run(move || BLOCKS.with_borrow_mut(|memory| verify_in(pw.expose(), &hash, memory))).await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        // The permit goes with the job: it is released when the hash ends, even if the caller
        // stopped waiting, so no more than `2 × parallelism` hashes are ever queued or running.
        let permit = self.permits.clone().acquire_owned().await.map_err(Error::internal)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.submit(Box::new(move || {
            let _permit = permit;
            let _ = tx.send(f());
        }))?;
        rx.await.map_err(Error::internal)
    }
}

thread_local! {
    /// A hashing thread's Argon2 memory, kept from one verification to the next.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC string `stored` (any Argon2 variant, version and
/// parameters it names), computed in `memory`, which grows to what the parameters need and is
/// kept by the caller. Why keep it: a fresh 19 MiB per verification is 4,864 pages to fault in
/// and zero, a fifth of the hash's cost; a thread that keeps its blocks verifies that much
/// faster. The comparison of the outputs is constant-time (`phc::Output`'s equality).
pub fn verify_in(password: &str, stored: &str, memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(hash) = argon2::PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let version = match hash.version.map(argon2::Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&hash) else { return false };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else { return false };
    let argon = argon2::Argon2::new(algorithm, version, params);
    if argon.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..blocks]).is_err() {
        return false;
    }
    argon2::password_hash::phc::Output::new(out).is_ok_and(|computed| &computed == expected)
}

fn hash_now(password: &str, salt: &[u8]) -> Result<String> {
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal_msg(format!("argon2: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pw: &str) -> Vec<&'static str> {
        PasswordPolicy::default().failures(pw, &["ada@example.com", "Ada Lovelace"]).iter().map(|f| f.rule).collect()
    }

    #[test]
    fn every_failed_rule_is_reported_at_once() {
        assert_eq!(rules("abc"), vec!["min_length", "uppercase", "digit", "special", "not_common"]);
        assert_eq!(rules("ABCDEFGHIJ"), vec!["lowercase", "digit", "special", "not_common"]);
    }

    #[test]
    fn strong_long_and_unicode_passwords_pass() {
        assert!(rules("Correct-Horse-7-Battery").is_empty());
        let long = format!("Zq9!{}", "x".repeat(60) + "plover-77-Quux");
        assert!(long.chars().count() >= 64);
        assert!(rules(&long).is_empty());
        assert!(rules("Ünïcødé-Pässwörd-9!").is_empty());
    }

    #[test]
    fn common_passwords_and_user_inputs_are_refused() {
        assert_eq!(rules("Password1!"), vec!["not_common"]);
        assert!(rules("AdaLovelace1!").contains(&"not_common"));
    }

    #[test]
    fn verifying_in_kept_memory_agrees_with_the_crate() {
        let mut memory = Vec::new();
        let stored = hash_now("Correct-Horse-7-Battery", &[9u8; 16]).unwrap();
        assert!(verify_in("Correct-Horse-7-Battery", &stored, &mut memory));
        assert!(!verify_in("Correct-Horse-7-Batterx", &stored, &mut memory));
        assert!(!verify_in("", &stored, &mut memory));
        // Other parameters and variants, as an older hash may carry, in the same memory.
        for (alg, m) in [(argon2::Algorithm::Argon2id, 4096), (argon2::Algorithm::Argon2i, 65536), (argon2::Algorithm::Argon2d, 8)] {
            let params = argon2::Params::new(m, 2, 1, Some(32)).unwrap();
            let other = argon2::Argon2::new(alg, argon2::Version::V0x13, params)
                .hash_password_with_salt(b"s3cret", &[3u8; 16])
                .unwrap()
                .to_string();
            assert!(verify_in("s3cret", &other, &mut memory), "{other}");
            assert!(!verify_in("s3cres", &other, &mut memory), "{other}");
            assert!(argon2::PasswordVerifier::verify_password(&argon2::Argon2::default(), b"s3cret", other.as_str()).is_ok());
        }
        // Malformed or truncated hashes never verify.
        for bad in
            ["", "plain", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA", &stored[..stored.len() - 3], "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaA"]
        {
            assert!(!verify_in("Correct-Horse-7-Battery", bad, &mut memory), "{bad}");
        }
    }

    #[test]
    fn too_long_is_refused() {
        let pw = format!("Aa1!{}", "k".repeat(MAX_PASSWORD_CHARS));
        assert!(rules(&pw).contains(&"max_length"));
    }

    #[cfg(target_os = "linux")]
    fn nice_of_this_thread() -> i32 {
        // SAFETY: getpriority of the calling thread; no pointers involved.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::syscall(libc::SYS_gettid) as libc::id_t) }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_below_the_rest_of_the_process() {
        let h = PasswordHasher::new(1).unwrap();
        let here = nice_of_this_thread();
        let there = h.run(nice_of_this_thread).await.unwrap();
        assert_eq!(there, (here + HASH_NICE).min(19));
    }

    #[tokio::test]
    async fn a_failed_job_leaves_the_hasher_working() {
        let h = PasswordHasher::new(1).unwrap();
        assert!(h.run(|| -> u8 { panic!("a job that fails") }).await.is_err());
        let pw = Password::new("Correct-Horse-7-Battery");
        let stored = h.hash(&pw, [2u8; 16]).await.unwrap();
        assert!(h.verify(&pw, Some(&stored)).await.unwrap());
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = PasswordHasher::new(2).unwrap();
        let pw = Password::new("Correct-Horse-7-Battery");
        let stored = h.hash(&pw, [1u8; 16]).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify(&pw, Some(&stored)).await.unwrap());
        assert!(!h.verify(&Password::new("wrong"), Some(&stored)).await.unwrap());
        assert!(!h.verify(&pw, None).await.unwrap());
    }
}
