//! "Did you mean": the closest valid spelling among candidates.

/// The candidate closest to `name`, if one is close enough to be a likely
/// typo: same letters in another case, or an edit distance of at most a
/// third of the name's length (at least 1, at most 3).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name || candidate.is_empty() {
            continue;
        }
        let candidate_lower = candidate.to_lowercase();
        let distance = if candidate_lower == lower {
            0
        } else {
            strsim::damerau_levenshtein(&lower, &candidate_lower)
        };
        let prefix_match = candidate_lower.starts_with(&lower) && lower.len() >= 4;
        if (distance <= limit || prefix_match)
            && best.is_none_or(|(d, c)| distance < d || (distance == d && candidate < c))
        {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_and_case() {
        assert_eq!(
            closest("compnay_code", ["company_code", "currency"]),
            Some("company_code")
        );
        assert_eq!(closest("companycode", ["CompanyCode"]), Some("CompanyCode"));
        assert_eq!(closest("x", ["completely_different"]), None);
        assert_eq!(closest("Invoise", ["Invoice", "InvoiceLine"]), Some("Invoice"));
    }
}
