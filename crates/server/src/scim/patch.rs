//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: `add`, `replace` and `remove`,
//! with or without a path, paths with a value filter (`members[value eq "…"]`,
//! `emails[type eq "work"].value`), as Okta and Entra ID send them (Entra capitalises the op
//! and removes members by value). The patched JSON is then read like a PUT body.

use crate::scim::filter::{self, Filter, Op, get_ci, strip_urn};
use serde_json::{Map, Value};

/// Why a PATCH could not be applied: the SCIM `scimType` and a sentence.
#[derive(Debug)]
pub struct PatchError {
    pub scim_type: &'static str,
    pub detail: String,
}

fn err(scim_type: &'static str, detail: impl Into<String>) -> PatchError {
    PatchError { scim_type, detail: detail.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Replace,
    Remove,
}

/// Applies a PATCH request body to `resource`.
pub fn apply(resource: &mut Value, body: &Value) -> Result<(), PatchError> {
    let ops =
        get_ci(body, "Operations").and_then(Value::as_array).ok_or_else(|| err("invalidSyntax", "A PATCH needs an Operations array."))?;
    if ops.is_empty() || ops.len() > 1000 {
        return Err(err("invalidSyntax", "A PATCH needs 1 to 1000 operations."));
    }
    for op in ops {
        let kind = match get_ci(op, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("add") => Kind::Add,
            Some("replace") => Kind::Replace,
            Some("remove") => Kind::Remove,
            _ => return Err(err("invalidSyntax", "Each operation's op must be add, replace or remove.")),
        };
        let path = match get_ci(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(err("invalidPath", "An operation's path must be a string.")),
        };
        let value = get_ci(op, "value");
        apply_op(resource, kind, path, value)?;
    }
    Ok(())
}

fn apply_op(res: &mut Value, kind: Kind, path: Option<&str>, value: Option<&Value>) -> Result<(), PatchError> {
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
        if kind == Kind::Remove {
            return Err(err("noTarget", "A remove operation needs a path."));
        }
        let Some(Value::Object(attrs)) = value else {
            return Err(err("invalidValue", "An operation without a path needs an object of attributes as its value."));
        };
        for (k, v) in attrs {
            // Entra sends dotted or schema-qualified names here ("name.givenName").
            if k.contains('.') || k.contains(':') || k.contains('[') {
                apply_op(res, kind, Some(k), Some(v))?;
            } else {
                set_attr(res, kind, k, v);
            }
        }
        return Ok(());
    };
    let p = PatchPath::parse(path)?;
    match (&p.filter, &p.sub) {
        (None, None) => {
            match kind {
                Kind::Remove => remove_attr(res, &p.attr, value),
                _ => set_attr(res, kind, &p.attr, value.ok_or_else(|| err("invalidValue", "This operation needs a value."))?),
            }
            Ok(())
        }
        (None, Some(sub)) => {
            let obj = res.as_object_mut().ok_or_else(|| err("invalidPath", "The resource is not an object."))?;
            let key = key_ci(obj, &p.attr);
            match kind {
                Kind::Remove => {
                    match obj.get_mut(&key) {
                        Some(Value::Object(inner)) => {
                            let k = key_ci(inner, sub);
                            inner.remove(&k);
                        }
                        Some(Value::Array(items)) => {
                            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                                let k = key_ci(item, sub);
                                item.remove(&k);
                            }
                        }
                        _ => {}
                    }
                    Ok(())
                }
                _ => {
                    let v = value.ok_or_else(|| err("invalidValue", "This operation needs a value."))?.clone();
                    let slot = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    if let Value::Object(inner) = slot {
                        let k = key_ci(inner, sub);
                        inner.insert(k, v);
                    }
                    Ok(())
                }
            }
        }
        (Some(f), sub) => apply_filtered(res, kind, &p.attr, f, sub.as_deref(), value),
    }
}

fn apply_filtered(res: &mut Value, kind: Kind, attr: &str, f: &Filter, sub: Option<&str>, value: Option<&Value>) -> Result<(), PatchError> {
    let obj = res.as_object_mut().ok_or_else(|| err("invalidPath", "The resource is not an object."))?;
    let key = key_ci(obj, attr);
    let items = match obj.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(a) => a,
        _ => return Err(err("invalidPath", format!("{attr} is not multi-valued."))),
    };
    let hits: Vec<usize> = items.iter().enumerate().filter(|(_, i)| filter::matches(f, i)).map(|(n, _)| n).collect();
    match (kind, sub) {
        (Kind::Remove, None) => {
            let mut n = 0;
            items.retain(|_| {
                let keep = !hits.contains(&n);
                n += 1;
                keep
            });
        }
        (Kind::Remove, Some(sub)) => {
            for n in hits {
                if let Some(o) = items[n].as_object_mut() {
                    let k = key_ci(o, sub);
                    o.remove(&k);
                }
            }
        }
        (_, Some(sub)) => {
            let v = value.ok_or_else(|| err("invalidValue", "This operation needs a value."))?.clone();
            if hits.is_empty() {
                // Entra adds `emails[type eq "work"].value` to a user without a work email.
                let mut fresh = equalities(f);
                fresh.insert(sub.to_owned(), v);
                items.push(Value::Object(fresh));
            }
            for n in hits {
                if let Some(o) = items[n].as_object_mut() {
                    let k = key_ci(o, sub);
                    o.insert(k, value.cloned().unwrap_or(Value::Null));
                }
            }
        }
        (_, None) => {
            let v = value.ok_or_else(|| err("invalidValue", "This operation needs a value."))?;
            if hits.is_empty() {
                if kind == Kind::Replace {
                    return Err(err("noTarget", format!("No value of {attr} matches the path's filter.")));
                }
                match v {
                    Value::Array(a) => items.extend(a.iter().cloned()),
                    other => items.push(other.clone()),
                }
            }
            for n in hits {
                merge(&mut items[n], v);
            }
        }
    }
    Ok(())
}

/// The `attr eq "x"` conditions of a filter, as an object (to create a value it selects).
fn equalities(f: &Filter) -> Map<String, Value> {
    let mut out = Map::new();
    match f {
        Filter::Compare { path, op: Op::Eq, value } => {
            out.insert(strip_urn(path).to_owned(), value.clone());
        }
        Filter::And(a, b) => {
            out.extend(equalities(a));
            out.extend(equalities(b));
        }
        _ => {}
    }
    out
}

/// `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`, schema URN removed.
struct PatchPath {
    attr: String,
    filter: Option<Filter>,
    sub: Option<String>,
}

impl PatchPath {
    fn parse(path: &str) -> Result<PatchPath, PatchError> {
        let bad = |why: &str| err("invalidPath", format!("The path is not valid: {why}."));
        let path = path.trim();
        if path.len() > 2000 {
            return Err(bad("too long"));
        }
        if let Some(open) = path.find('[') {
            let close = path.rfind(']').filter(|c| *c > open).ok_or_else(|| bad("a bracket is not closed"))?;
            let attr = strip_urn(&path[..open]).to_owned();
            let f = filter::parse(&path[open + 1..close]).map_err(|e| err("invalidPath", e.0))?;
            let rest = &path[close + 1..];
            let sub = match rest.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_owned()),
                None if rest.is_empty() => None,
                _ => return Err(bad("only a sub-attribute may follow a filter")),
            };
            if attr.is_empty() {
                return Err(bad("no attribute"));
            }
            return Ok(PatchPath { attr, filter: Some(f), sub });
        }
        let plain = strip_urn(path);
        let (attr, sub) = match plain.split_once('.') {
            Some((a, s)) => (a.to_owned(), Some(s.to_owned())),
            None => (plain.to_owned(), None),
        };
        if attr.is_empty() || sub.as_deref().is_some_and(|s| s.is_empty() || s.contains('.')) {
            return Err(bad("an attribute name is missing or too deep"));
        }
        Ok(PatchPath { attr, filter: None, sub })
    }
}

/// The key of `obj` equal to `name` regardless of case, or `name` itself.
fn key_ci(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.to_owned())
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Sets a top-level attribute: `add` appends to a multi-valued one and merges a complex one;
/// `replace` merges a complex one and replaces anything else.
fn set_attr(res: &mut Value, kind: Kind, name: &str, v: &Value) {
    let Some(obj) = res.as_object_mut() else { return };
    let key = key_ci(obj, strip_urn(name));
    match (obj.get_mut(&key), v) {
        (Some(Value::Array(have)), Value::Array(new)) if kind == Kind::Add => {
            for item in new {
                if !have.iter().any(|h| same_value(h, item)) {
                    have.push(item.clone());
                }
            }
        }
        (Some(slot @ Value::Object(_)), Value::Object(_)) => merge(slot, v),
        _ => {
            obj.insert(key, v.clone());
        }
    }
}

fn remove_attr(res: &mut Value, name: &str, value: Option<&Value>) {
    let Some(obj) = res.as_object_mut() else { return };
    let key = key_ci(obj, name);
    // Entra removes members by listing them in the value instead of a filtered path.
    if let (Some(Value::Array(have)), Some(Value::Array(gone))) = (obj.get_mut(&key), value) {
        have.retain(|h| !gone.iter().any(|g| same_value(h, g)));
        return;
    }
    obj.remove(&key);
}

fn merge(slot: &mut Value, v: &Value) {
    match (slot, v) {
        (Value::Object(have), Value::Object(new)) => {
            for (k, x) in new {
                let key = key_ci(have, k);
                have.insert(key, x.clone());
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::apply;
    use serde_json::{Value, json};

    fn patched(mut v: Value, ops: Value) -> Value {
        apply(&mut v, &json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })).expect("applies");
        v
    }

    #[test]
    fn okta_and_entra_shapes() {
        let user = json!({ "userName": "a", "active": true, "name": { "givenName": "A", "familyName": "B" }, "emails": [{ "value": "a@x.io", "type": "work", "primary": true }] });
        // Okta: replace without a path.
        assert_eq!(patched(user.clone(), json!([{ "op": "replace", "value": { "active": false } }]))["active"], false);
        // Entra: capitalised op, path, dotted names and filtered paths.
        let u = patched(
            user.clone(),
            json!([
                { "op": "Replace", "path": "active", "value": "False" },
                { "op": "Replace", "value": { "name.givenName": "Z" } },
                { "op": "Add", "path": "emails[type eq \"work\"].value", "value": "z@x.io" },
                { "op": "Add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "Zed" },
            ]),
        );
        assert_eq!(u["active"], "False");
        assert_eq!(u["name"], json!({ "givenName": "Z", "familyName": "B" }));
        assert_eq!(u["emails"][0]["value"], "z@x.io");
        assert_eq!(u["displayName"], "Zed");

        let group = json!({ "displayName": "G", "members": [{ "value": "1" }, { "value": "2" }] });
        let g = patched(group.clone(), json!([{ "op": "add", "path": "members", "value": [{ "value": "3" }, { "value": "1" }] }]));
        assert_eq!(g["members"], json!([{ "value": "1" }, { "value": "2" }, { "value": "3" }]));
        let g = patched(group.clone(), json!([{ "op": "remove", "path": "members[value eq \"2\"]" }]));
        assert_eq!(g["members"], json!([{ "value": "1" }]));
        let g = patched(group.clone(), json!([{ "op": "Remove", "path": "members", "value": [{ "value": "1" }] }]));
        assert_eq!(g["members"], json!([{ "value": "2" }]));
        let g = patched(group.clone(), json!([{ "op": "replace", "path": "members", "value": [{ "value": "9" }] }]));
        assert_eq!(g["members"], json!([{ "value": "9" }]));
        let g = patched(group, json!([{ "op": "remove", "path": "members" }]));
        assert!(g.get("members").is_none());
    }

    #[test]
    fn bad_operations_are_refused() {
        let mut v = json!({});
        for body in [
            json!({}),
            json!({ "Operations": [] }),
            json!({ "Operations": [{ "op": "move", "path": "a" }] }),
            json!({ "Operations": [{ "op": "remove" }] }),
            json!({ "Operations": [{ "op": "add", "value": 3 }] }),
            json!({ "Operations": [{ "op": "replace", "path": "emails[type eq \"home\"]", "value": {} }] }),
            json!({ "Operations": [{ "op": "add", "path": "emails[type eq", "value": 1 }] }),
        ] {
            assert!(apply(&mut v, &body).is_err(), "{body}");
        }
    }
}
