//! Text operations, by Unicode scalar value (never bytes), so a cut never
//! splits a character and lengths agree with `String(n)`.

use super::{HelperError, Result};

/// Number of Unicode scalar values.
pub fn length(text: &str) -> usize {
    text.chars().count()
}

/// Upper case (Unicode: `ß` becomes `SS`), appended to `out`.
pub fn upper(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_uppercase();
    } else {
        // `str::to_uppercase` maps character by character too.
        out.extend(text.chars().flat_map(char::to_uppercase));
    }
}

/// Lower case, appended to `out`.
pub fn lower(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
    } else if text.contains('Σ') {
        // A capital sigma lowers by its place in the word: only
        // `str::to_lowercase` knows the rule.
        out.push_str(&text.to_lowercase());
    } else {
        out.extend(text.chars().flat_map(char::to_lowercase));
    }
}

/// Without white space (Unicode White_Space, no-break spaces included) at
/// either end.
pub fn trim(text: &str) -> &str {
    text.trim()
}

fn single_char(function: &'static str, fill: &str) -> Result<char> {
    let mut chars = fill.chars();
    match (chars.next(), chars.next()) {
        (Some(ch), None) => Ok(ch),
        _ => Err(HelperError::BadArgument {
            function,
            message: format!("the fill must be exactly one character, not {fill:?}"),
        }),
    }
}

fn target_length(function: &'static str, length: i64) -> Result<usize> {
    usize::try_from(length)
        .ok()
        .filter(|n| *n <= 1_000_000)
        .ok_or_else(|| HelperError::BadArgument {
            function,
            message: format!("the length must be between 0 and 1,000,000, not {length}"),
        })
}

/// Padded on the left with `fill` to `length` characters; never cut;
/// appended to `out`.
pub fn pad_left(text: &str, length: i64, fill: &str, out: &mut String) -> Result<()> {
    let fill = single_char("pad_left", fill)?;
    let length = target_length("pad_left", length)?;
    let missing = length.saturating_sub(self::length(text));
    out.reserve(text.len() + missing * fill.len_utf8());
    out.extend(std::iter::repeat_n(fill, missing));
    out.push_str(text);
    Ok(())
}

/// Padded on the right with `fill` to `length` characters; never cut;
/// appended to `out`.
pub fn pad_right(text: &str, length: i64, fill: &str, out: &mut String) -> Result<()> {
    let fill = single_char("pad_right", fill)?;
    let length = target_length("pad_right", length)?;
    let missing = length.saturating_sub(self::length(text));
    out.reserve(text.len() + missing * fill.len_utf8());
    out.push_str(text);
    out.extend(std::iter::repeat_n(fill, missing));
    Ok(())
}

/// `length` characters from position `start` (0-based); a range past the
/// end is clamped; without `length`, the rest.
pub fn substring(text: &str, start: i64, length: Option<i64>) -> Result<&str> {
    let bad = |message: String| HelperError::BadArgument {
        function: "substring",
        message,
    };
    let start = usize::try_from(start).map_err(|_| bad(format!("the start must not be negative, not {start}")))?;
    let length = match length {
        Some(n) => Some(usize::try_from(n).map_err(|_| bad(format!("the length must not be negative, not {n}")))?),
        None => None,
    };
    // Where character `chars` of `text` starts (its end when there are
    // fewer). A character takes at least one byte, so a text of at most
    // `chars` bytes ends before it: no walk.
    let byte_at = |text: &str, chars: usize| {
        if chars >= text.len() {
            text.len()
        } else {
            text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i)
        }
    };
    let from = byte_at(text, start);
    let to = match length {
        Some(n) => from + byte_at(&text[from..], n),
        None => text.len(),
    };
    Ok(&text[from..to])
}

/// Every occurrence of `from` replaced by `to` (plain text; an empty `from`
/// changes nothing), appended to `out`.
pub fn replace(text: &str, from: &str, to: &str, out: &mut String) {
    if from.is_empty() {
        out.push_str(text);
        return;
    }
    let mut last = 0;
    for (at, _) in text.match_indices(from) {
        out.push_str(&text[last..at]);
        out.push_str(to);
        last = at + from.len();
    }
    out.push_str(&text[last..]);
}

/// The pieces between separators.
pub fn split<'a, 'b>(text: &'a str, separator: &'b str) -> Result<std::str::Split<'a, &'b str>> {
    if separator.is_empty() {
        return Err(HelperError::BadArgument {
            function: "split",
            message: "the separator must not be empty".to_owned(),
        });
    }
    Ok(text.split(separator))
}

/// Texts joined with a separator, appended to `out`.
pub fn join<'a>(texts: impl IntoIterator<Item = &'a str>, separator: &str, out: &mut String) {
    for (index, text) in texts.into_iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        out.push_str(text);
    }
}

/// Checks that XML 1.0 can carry `text` (its `Char` production: no C0
/// controls but tab, line feed and carriage return; no U+FFFE or U+FFFF).
pub fn check_xml_chars(text: &str) -> Result<()> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}');
    match text.char_indices().find(|(_, c)| !allowed(*c)) {
        Some((byte, c)) => Err(HelperError::NotXml {
            code: u32::from(c),
            at: text[..byte].chars().count(),
        }),
        None => Ok(()),
    }
}

/// Checks `String(max)`.
pub fn check_length(text: &str, max: u32) -> Result<()> {
    // A character takes at least one byte: text of at most `max` bytes
    // needs no counting.
    if text.len() <= max as usize {
        return Ok(());
    }
    let length = length(text);
    if length > max as usize {
        return Err(HelperError::TooLong { length, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an appending helper writes after `before`, which it must keep.
    fn appended(f: impl FnOnce(&mut String)) -> String {
        let mut out = String::from("before|");
        f(&mut out);
        out.strip_prefix("before|")
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{out:?} lost its start"))
    }

    proptest::proptest! {
        #[test]
        fn substring_counts_characters(text in "[a-zé😀 ]{0,12}", start in 0i64..16, length in proptest::option::of(0i64..16)) {
            let want: String = match length {
                Some(n) => text.chars().skip(start as usize).take(n as usize).collect(),
                None => text.chars().skip(start as usize).collect(),
            };
            proptest::prop_assert_eq!(substring(&text, start, length).unwrap(), want);
        }
    }

    #[test]
    fn characters_not_bytes() {
        assert_eq!(length("Müller😀"), 7);
        assert_eq!(appended(|out| upper("straße", out)), "STRASSE");
        assert_eq!(appended(|out| upper("abc-1", out)), "ABC-1");
        assert_eq!(substring("Müller GmbH", 0, Some(6)).unwrap(), "Müller");
        assert_eq!(substring("😀ab", 1, Some(1)).unwrap(), "a");
        assert_eq!(substring("ABC", 1, None).unwrap(), "BC");
        assert_eq!(substring("ABC", 5, Some(2)).unwrap(), "");
        assert!(substring("ABC", -1, None).is_err());
        assert!(check_length("Ü😀X", 2).is_err());
        assert!(check_length("Ü😀", 2).is_ok());
    }

    #[test]
    fn cases_agree_with_the_standard_library() {
        for text in [
            "",
            "Straße",
            "ÀÉÎ õü",
            "ΟΔΟΣ ΟΔΟΣ.",
            "Σ",
            "İstanbul",
            "ǅ",
            "ﬃ",
            "MIXED case 42",
        ] {
            assert_eq!(appended(|out| upper(text, out)), text.to_uppercase(), "{text}");
            assert_eq!(appended(|out| lower(text, out)), text.to_lowercase(), "{text}");
        }
    }

    #[test]
    fn padding_never_cuts() {
        let pad = |f: fn(&str, i64, &str, &mut String) -> Result<()>, text: &str, length: i64, fill: &str| {
            let mut result = Ok(());
            let out = appended(|out| result = f(text, length, fill, out));
            result.map(|()| out)
        };
        assert_eq!(pad(pad_left, "10", 6, "0").unwrap(), "000010");
        assert_eq!(pad(pad_left, "1234567", 6, "0").unwrap(), "1234567");
        assert_eq!(pad(pad_right, "AB", 4, " ").unwrap(), "AB  ");
        assert_eq!(pad(pad_left, "x", 3, "é").unwrap(), "ééx");
        assert!(pad(pad_left, "x", 3, "00").is_err());
        assert!(pad(pad_left, "x", -1, "0").is_err());
    }

    #[test]
    fn trimming_knows_no_break_spaces() {
        assert_eq!(trim("\u{a0} INV-1 \t"), "INV-1");
    }

    #[test]
    fn split_join_replace() {
        assert_eq!(split("a;b;;c", ";").unwrap().collect::<Vec<_>>(), ["a", "b", "", "c"]);
        assert_eq!(split("", ";").unwrap().collect::<Vec<_>>(), [""]);
        assert!(split("a", "").is_err());
        assert_eq!(appended(|out| join(["a", "b"], ", ", out)), "a, b");
        assert_eq!(appended(|out| join([], ", ", out)), "");
        for (text, from, to) in [
            ("DE 123 456", " ", ""),
            ("abc", "", "x"),
            ("aaa", "aa", "b"),
            ("x", "x", "yy"),
            ("Müller", "ü", "ue"),
            ("none here", "zz", "y"),
        ] {
            let expected = if from.is_empty() {
                text.to_owned()
            } else {
                text.replace(from, to)
            };
            assert_eq!(appended(|out| replace(text, from, to, out)), expected, "{text}");
        }
    }
}
