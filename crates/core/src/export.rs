//! Rules for files that leave Keyward (audit exports, access review reports).

use std::borrow::Cow;

/// A CSV cell that a spreadsheet will not run as a formula. Why: a value such as a user's name
/// `=HYPERLINK(…)` would otherwise become a live formula in the auditor's spreadsheet (OWASP
/// "CSV injection"); a leading apostrophe makes it text.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formulas_become_text() {
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        for s in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(csv_cell("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(csv_cell(""), "");
    }
}
