//! What text names and emails may hold, and how emails are compared: one key per person
//! however the address is typed.

/// The comparison key of an email address: the local part in Unicode NFC and case folded, the
/// domain in its IDNA (punycode) ASCII form, lower case. `josé` typed precomposed or
/// decomposed, `ADA@Example.com` and `ada@example.com`, `bücher.example` and
/// `xn--bcher-kva.example` each give one key, so each is one account.
pub fn email_key(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| fold(domain));
            format!("{}@{}", fold(local), domain)
        }
        None => fold(email),
    }
}

/// NFC, then Unicode case folding (lower case, with the full folding's `ß` → `ss` and final
/// sigma → sigma), then NFC again (folding can leave a string unnormalised).
fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lower: String = s.nfc().collect::<String>().to_lowercase();
    let mut folded = String::with_capacity(lower.len());
    for c in lower.chars() {
        match c {
            'ß' => folded.push_str("ss"),
            'ς' => folded.push('σ'),
            c => folded.push(c),
        }
    }
    folded.nfc().collect()
}

/// The first character of `s` that names and emails may not hold: control characters,
/// bidirectional embeddings, overrides, isolates and marks, and invisible characters
/// (zero-width spaces and joiners, word joiners, soft hyphens, fillers, tags, …).
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        c.is_control()
            || matches!(
                c,
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{061C}'
                    | '\u{115F}'
                    | '\u{1160}'
                    | '\u{17B4}'
                    | '\u{17B5}'
                    | '\u{180B}'..='\u{180F}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{2028}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{3164}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
                    | '\u{FFF0}'..='\u{FFFB}'
                    | '\u{1BCA0}'..='\u{1BCA3}'
                    | '\u{1D173}'..='\u{1D17A}'
                    | '\u{E0000}'..='\u{E007F}'
            )
    })
}

/// The sentence for a refused character, naming the field and the character's code point
/// (never the character itself, which would not show).
pub(crate) fn forbidden_message(field: &str, c: char) -> String {
    format!(
        "The {field} contains a control, invisible or text-direction character (U+{:04X}), which is not allowed. Type it again without.",
        u32::from(c)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::types::{Email, FullName, Label, TeamName};

    #[test]
    fn email_keys_are_one_per_person() {
        let key = |s: &str| Email::parse(s).unwrap().key();
        assert_eq!(key("jos\u{e9}@example.com"), key("jose\u{301}@example.com"), "NFC");
        assert_eq!(key("JOS\u{c9}@Example.COM"), "jos\u{e9}@example.com", "case folded");
        assert_eq!(key("STRASSE@example.com"), key("stra\u{df}e@example.com"), "full case folding");
        assert_eq!(key("bob@b\u{fc}cher.example"), "bob@xn--bcher-kva.example", "IDNA");
        assert_eq!(key("bob@B\u{dc}CHER.example"), key("bob@xn--bcher-kva.example"));
        assert_eq!(email_key("ada@example.com"), "ada@example.com", "ASCII keys are unchanged");
    }

    #[test]
    fn invisible_and_direction_characters_are_refused() {
        for bad in ["ad\u{200b}a@example.com", "ada@exa\u{202e}mple.com", "ada\u{2066}@example.com", "\u{feff}ada@example.com"] {
            let e = Email::parse(bad).unwrap_err();
            assert!(matches!(e, Error::Invalid { field: Some("email"), .. }), "{bad:?}: {e:?}");
            assert!(e.to_string().contains("U+"), "{e}");
        }
        for bad in ["Ada\u{202e}nna", "Ada\u{200d}", "A\u{ad}da", "Ada\u{e0041}", "Ada\u{7}"] {
            let e = FullName::parse(bad).unwrap_err();
            assert!(matches!(e, Error::Invalid { field: Some("full_name"), .. }), "{bad:?}: {e:?}");
        }
        assert!(FullName::parse("Jos\u{e9} Mar\u{ed}a \u{d6}zt\u{fc}rk").is_ok());
        assert!(FullName::parse("\u{5d3}\u{5d5}\u{5d3}").is_ok(), "right-to-left scripts are fine; overrides are not");
        assert!(TeamName::parse("Ops\u{202e}").is_err());
        assert!(Label::parse("name", "ci\u{200b}").is_err());
    }
}
