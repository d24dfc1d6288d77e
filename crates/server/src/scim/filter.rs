//! SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree, then evaluated on a resource's JSON.
//! Comparisons: `eq ne co sw ew gt ge lt le pr`; logic: `and or not`, parentheses and value
//! paths (`emails[type eq "work"]`). Strings compare without regard to case, but for `id` and
//! `externalId` (case-exact in RFC 7643).

use serde_json::Value;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: String,
        op: Op,
        value: Value,
    },
    Present(String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[inner]`: some element of the multi-valued `attr` matches `inner`.
    ValuePath {
        path: String,
        inner: Box<Filter>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

/// Why a filter could not be read (the SCIM error's detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

fn lex(s: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '[' => {
                out.push(Tok::OpenBracket);
                i += 1;
            }
            ']' => {
                out.push(Tok::CloseBracket);
                i += 1;
            }
            '"' => {
                // A JSON string: read to the closing quote, honouring escapes.
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(FilterError("A string in the filter is not closed.".into()));
                }
                let raw: String = chars[start..=i].iter().collect();
                let v: String = serde_json::from_str(&raw).map_err(|_| FilterError("A string in the filter is not valid.".into()))?;
                out.push(Tok::Str(v));
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '\n' | '\r' | '(' | ')' | '[' | ']' | '"') {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.depth += 1;
        if self.depth > 50 {
            return Err(FilterError("The filter is nested too deeply.".into()));
        }
        let out = self.primary();
        self.depth -= 1;
        out
    }

    fn primary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_word("not") && matches!(self.toks.get(self.pos + 1), Some(Tok::Open)) {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.primary()?)));
        }
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                self.expect(Tok::Close, "a closing parenthesis")?;
                Ok(inner)
            }
            Some(Tok::Word(path)) => {
                self.pos += 1;
                if matches!(self.toks.get(self.pos), Some(Tok::OpenBracket)) {
                    self.pos += 1;
                    let inner = self.or()?;
                    self.expect(Tok::CloseBracket, "a closing bracket")?;
                    return Ok(Filter::ValuePath { path, inner: Box::new(inner) });
                }
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(FilterError(format!("An operator must follow the attribute {path}."))),
                };
                self.pos += 1;
                let op = match op.as_str() {
                    "pr" => return Ok(Filter::Present(path)),
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "co" => Op::Co,
                    "sw" => Op::Sw,
                    "ew" => Op::Ew,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => {
                        return Err(FilterError(format!("'{}' is not a filter operator.", other.chars().take(20).collect::<String>())));
                    }
                };
                let value = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(s)) => Value::String(s),
                    Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => serde_json::from_str::<serde_json::Number>(&w).map(Value::Number).map_err(|_| {
                            FilterError("A comparison value must be a quoted string, a number, true, false or null.".into())
                        })?,
                    },
                    _ => return Err(FilterError("A comparison needs a value.".into())),
                };
                self.pos += 1;
                Ok(Filter::Compare { path, op, value })
            }
            _ => Err(FilterError("The filter is incomplete or malformed.".into())),
        }
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), FilterError> {
        if self.toks.get(self.pos) == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(FilterError(format!("The filter lacks {what}.")))
        }
    }
}

/// Parses a filter.
pub fn parse(s: &str) -> Result<Filter, FilterError> {
    if s.len() > 4000 {
        return Err(FilterError("The filter is too long.".into()));
    }
    let toks = lex(s)?;
    let mut p = Parser { toks, pos: 0, depth: 0 };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err(FilterError("The filter has something unexpected after its end.".into()));
    }
    Ok(f)
}

/// An attribute path without its schema URN (`urn:…:User:userName` → `userName`).
pub fn strip_urn(path: &str) -> &str {
    if path.to_ascii_lowercase().starts_with("urn:") { path.rsplit(':').next().unwrap_or(path) } else { path }
}

/// The member of an object whose name matches `key` regardless of case.
pub fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// Every value at `path` in `v` (arrays fan out).
fn values_at<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur: Vec<&Value> = vec![v];
    for seg in strip_urn(path).split('.') {
        let mut next = Vec::new();
        for c in cur {
            let items: Vec<&Value> = match c {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for item in items {
                if let Some(x) = get_ci(item, seg) {
                    match x {
                        Value::Array(a) => next.extend(a.iter()),
                        other => next.push(other),
                    }
                }
            }
        }
        cur = next;
    }
    // A multi-valued complex attribute compares by its `value`.
    cur.into_iter().map(|x| if x.is_object() { get_ci(x, "value").unwrap_or(x) } else { x }).collect()
}

fn case_exact(path: &str) -> bool {
    let last = strip_urn(path).rsplit('.').next().unwrap_or("");
    last.eq_ignore_ascii_case("id") || last.eq_ignore_ascii_case("externalId")
}

fn compare(have: &Value, op: Op, want: &Value, exact: bool) -> bool {
    match (have, want) {
        (Value::String(h), Value::String(w)) => {
            let (h, w) = if exact { (h.clone(), w.clone()) } else { (h.to_lowercase(), w.to_lowercase()) };
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Co => h.contains(&w),
                Op::Sw => h.starts_with(&w),
                Op::Ew => h.ends_with(&w),
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
            }
        }
        (Value::Number(h), Value::Number(w)) => {
            let (h, w) = (h.as_f64().unwrap_or(f64::NAN), w.as_f64().unwrap_or(f64::NAN));
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
                Op::Co | Op::Sw | Op::Ew => false,
            }
        }
        (Value::Bool(h), Value::Bool(w)) => match op {
            Op::Eq => h == w,
            Op::Ne => h != w,
            _ => false,
        },
        _ => false,
    }
}

/// Whether `resource` matches the filter.
pub fn matches(f: &Filter, resource: &Value) -> bool {
    match f {
        Filter::Compare { path, op, value } => {
            let found = values_at(resource, path);
            if *op == Op::Ne {
                return found.iter().all(|h| compare(h, Op::Ne, value, case_exact(path)));
            }
            if value.is_null() {
                return *op == Op::Eq && found.is_empty();
            }
            found.iter().any(|h| compare(h, *op, value, case_exact(path)))
        }
        Filter::Present(path) => values_at(resource, path).iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::Not(a) => !matches(a, resource),
        Filter::ValuePath { path, inner } => {
            let mut cur = resource;
            for seg in strip_urn(path).split('.') {
                match get_ci(cur, seg) {
                    Some(x) => cur = x,
                    None => return false,
                }
            }
            match cur {
                Value::Array(items) => items.iter().any(|i| matches(inner, i)),
                other => matches(inner, other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "0190-ABC", "userName": "Bjensen@example.com", "externalId": "X-1", "active": true,
            "name": { "givenName": "Barbara", "familyName": "Jensen" },
            "emails": [{ "value": "bjensen@example.com", "type": "work", "primary": true }],
            "groups": [{ "value": "g1", "display": "Engineers" }],
            "meta": { "lastModified": "2026-01-02T00:00:00Z" }
        })
    }

    fn m(s: &str) -> bool {
        matches(&parse(s).expect(s), &user())
    }

    #[test]
    fn what_providers_send_matches() {
        assert!(m(r#"userName eq "bjensen@example.com""#), "userName compares without regard to case");
        assert!(m(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#));
        assert!(m(r#"externalId eq "X-1""#));
        assert!(!m(r#"externalId eq "x-1""#), "externalId is case-exact");
        assert!(m(r#"name.familyName co "ens" and active eq true"#));
        assert!(m(r#"userName sw "bj" and (name.givenName eq "nope" or emails.value ew "example.com")"#));
        assert!(m(r#"emails[type eq "work" and value co "@example.com"]"#));
        assert!(m(r#"groups eq "g1""#), "a multi-valued attribute compares by value");
        assert!(!m("title pr") && m("name pr"));
        assert!(m(r#"not (userName eq "x")"#));
        assert!(m(r#"meta.lastModified gt "2025-12-31T00:00:00Z""#));
        assert!(!m(r#"userName eq "someone-else""#));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [r#"userName eq"#, r#"userName zz "x""#, r#"(userName eq "x""#, r#"userName eq "x" extra"#, r#"userName eq "open"#, ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&"(".repeat(100)).is_err());
    }
}
