//! Text operations, by Unicode scalar value (never bytes), so a cut never
//! splits a character and lengths agree with `String(n)`.

use super::{HelperError, Result};

/// Number of Unicode scalar values.
pub fn length(text: &str) -> usize {
    text.chars().count()
}

/// Upper case (Unicode: `ß` becomes `SS`).
pub fn upper(text: &str) -> String {
    text.to_uppercase()
}

/// Lower case.
pub fn lower(text: &str) -> String {
    text.to_lowercase()
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

/// Padded on the left with `fill` to `length` characters; never cut.
pub fn pad_left(text: &str, length: i64, fill: &str) -> Result<String> {
    let fill = single_char("pad_left", fill)?;
    let length = target_length("pad_left", length)?;
    let current = self::length(text);
    let mut out = String::with_capacity(text.len() + length.saturating_sub(current));
    out.extend(std::iter::repeat_n(fill, length.saturating_sub(current)));
    out.push_str(text);
    Ok(out)
}

/// Padded on the right with `fill` to `length` characters; never cut.
pub fn pad_right(text: &str, length: i64, fill: &str) -> Result<String> {
    let fill = single_char("pad_right", fill)?;
    let length = target_length("pad_right", length)?;
    let current = self::length(text);
    let mut out = String::with_capacity(text.len() + length.saturating_sub(current));
    out.push_str(text);
    out.extend(std::iter::repeat_n(fill, length.saturating_sub(current)));
    Ok(out)
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
    let byte_at = |chars: usize| text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i);
    let from = byte_at(start);
    let to = match length {
        Some(n) => {
            let rest = &text[from..];
            from + rest.char_indices().nth(n).map_or(rest.len(), |(i, _)| i)
        }
        None => text.len(),
    };
    Ok(&text[from..to])
}

/// Every occurrence of `from` replaced by `to` (plain text; an empty `from`
/// changes nothing).
pub fn replace(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_owned();
    }
    text.replace(from, to)
}

/// The pieces between separators.
pub fn split<'a>(text: &'a str, separator: &str) -> Result<Vec<&'a str>> {
    if separator.is_empty() {
        return Err(HelperError::BadArgument {
            function: "split",
            message: "the separator must not be empty".to_owned(),
        });
    }
    Ok(text.split(separator).collect())
}

/// Texts joined with a separator.
pub fn join<S: AsRef<str>>(texts: &[S], separator: &str) -> String {
    let mut out = String::new();
    for (index, text) in texts.iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        out.push_str(text.as_ref());
    }
    out
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

    #[test]
    fn characters_not_bytes() {
        assert_eq!(length("Müller😀"), 7);
        assert_eq!(upper("straße"), "STRASSE");
        assert_eq!(substring("Müller GmbH", 0, Some(6)).unwrap(), "Müller");
        assert_eq!(substring("😀ab", 1, Some(1)).unwrap(), "a");
        assert_eq!(substring("ABC", 1, None).unwrap(), "BC");
        assert_eq!(substring("ABC", 5, Some(2)).unwrap(), "");
        assert!(substring("ABC", -1, None).is_err());
        assert!(check_length("Ü😀X", 2).is_err());
        assert!(check_length("Ü😀", 2).is_ok());
    }

    #[test]
    fn padding_never_cuts() {
        assert_eq!(pad_left("10", 6, "0").unwrap(), "000010");
        assert_eq!(pad_left("1234567", 6, "0").unwrap(), "1234567");
        assert_eq!(pad_right("AB", 4, " ").unwrap(), "AB  ");
        assert_eq!(pad_left("x", 3, "é").unwrap(), "ééx");
        assert!(pad_left("x", 3, "00").is_err());
        assert!(pad_left("x", -1, "0").is_err());
    }

    #[test]
    fn trimming_knows_no_break_spaces() {
        assert_eq!(trim("\u{a0} INV-1 \t"), "INV-1");
    }

    #[test]
    fn split_join_replace() {
        assert_eq!(split("a;b;;c", ";").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(split("", ";").unwrap(), [""]);
        assert!(split("a", "").is_err());
        assert_eq!(join(&["a", "b"], ", "), "a, b");
        assert_eq!(join::<&str>(&[], ", "), "");
        assert_eq!(replace("DE 123 456", " ", ""), "DE123456");
        assert_eq!(replace("abc", "", "x"), "abc");
    }
}
