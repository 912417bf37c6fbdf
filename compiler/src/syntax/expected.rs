//! Plain words for parse errors: what was expected, and what was found.
//!
//! pest reports the rules it tried; users must never see rule names. Every
//! grammar rule has its description here (the match is exhaustive, so a new
//! rule cannot be forgotten), and literal tokens are shown quoted.

use super::parser::GrammarRule as Rule;
use pest::error::{Error, ErrorVariant};
use std::collections::BTreeSet;

/// How a rule reads in "expected …", or `None` when its parent rule says it
/// better.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the item",
        Rule::item_chunk => {
            "an item (`use`, `param`, `table`, `mapping`, `fn`, `schema`, `format`, `enum`, `record` or `extend`)"
        }
        Rule::stmts_chunk | Rule::expr_stmt => "a statement",
        Rule::fields_chunk | Rule::field_decl => "a field declaration (`name: Type`)",
        Rule::variants_chunk | Rule::variant => "an enum variant",
        Rule::entries_chunk | Rule::table_entry => "a table entry (`key => value`)",
        Rule::arms_chunk | Rule::match_arm => "a match arm (`pattern => value`)",
        Rule::settings_chunk | Rule::format_setting => "a format setting",
        Rule::keyword => "a keyword",
        Rule::ident => "a name",
        Rule::word | Rule::quoted_name => "a name",
        Rule::field_name => "a field name",
        Rule::k_schema => "`schema`",
        Rule::k_format => "`format`",
        Rule::k_enum => "`enum`",
        Rule::k_record => "`record`",
        Rule::k_extend => "`extend`",
        Rule::k_use => "`use`",
        Rule::k_param => "`param`",
        Rule::k_table => "`table`",
        Rule::k_mapping => "`mapping`",
        Rule::k_fn => "`fn`",
        Rule::k_let => "`let`",
        Rule::k_if => "`if`",
        Rule::k_else => "`else`",
        Rule::k_match => "`match`",
        Rule::k_for => "`for`",
        Rule::k_in => "`in`",
        Rule::k_where => "`where`",
        Rule::k_external => "`external`",
        Rule::k_as => "`as`",
        Rule::string_lit => "a string",
        Rule::string_text | Rule::string_escape => "the rest of the string",
        Rule::interpolation => "an interpolation `{…}`",
        Rule::number_lit => "a number",
        Rule::true_lit | Rule::false_lit => "`true` or `false`",
        Rule::none_lit => "`none`",
        Rule::path => "a name or dotted path",
        Rule::type_ref | Rule::named_type => "a type",
        Rule::list_type => "a type",
        Rule::type_args => "type arguments `(n)`",
        Rule::optional_mark => "`?`",
        Rule::annotation | Rule::annotation_name => "an annotation (`@…`)",
        Rule::annotation_args => "annotation arguments `(…)`",
        Rule::annotation_arg | Rule::annotation_value => "an annotation argument",
        Rule::prefixed_name => "a prefixed name (`prefix:name`)",
        Rule::schema_decl => "`schema NAME`",
        Rule::format_decl => "`format json|xml|csv`",
        Rule::format_block => "a format block `{ … }`",
        Rule::setting_qualifier => "a setting qualifier",
        Rule::setting_literal | Rule::setting_value => "a setting value",
        Rule::enum_decl => "an enum declaration",
        Rule::enum_body => "the enum's variants in `{ … }`",
        Rule::record_decl => "a record declaration",
        Rule::extend_decl => "`extend record …`",
        Rule::record_body => "the record's fields in `{ … }`",
        Rule::use_decl => "a `use`",
        Rule::use_path => "a module path",
        Rule::use_group => "the names to import in `{ … }`",
        Rule::use_name => "a name to import",
        Rule::use_alias => "`as NAME`",
        Rule::param_decl => "a `param`",
        Rule::table_decl => "a `table`",
        Rule::table_body => "the table's entries in `{ … }`, or `external`",
        Rule::mapping_decl => "a `mapping`",
        Rule::fn_decl => "a `fn`",
        Rule::param_list | Rule::typed_param => "a parameter (`name: Type`)",
        Rule::block => "a block `{ … }`",
        Rule::let_stmt => "a `let`",
        Rule::assign_stmt => "an assignment (`Field = value`)",
        Rule::assign_op => "`=`",
        Rule::nested_stmt => "a nested block (`Field { … }`)",
        Rule::expr | Rule::source_expr | Rule::operand => "an expression",
        Rule::infix_op | Rule::source_infix => "an operator",
        Rule::and_op => "`and`",
        Rule::or_op => "`or`",
        Rule::prefix_op => "`-` or `not`",
        Rule::not_op => "`not`",
        Rule::member => "`.field`",
        Rule::index => "`[…]`",
        Rule::name => "a name",
        Rule::paren_expr => "`(…)`",
        Rule::list_lit => "a list `[…]`",
        Rule::call => "a function call",
        Rule::call_args => "arguments `(…)`",
        Rule::lambda => "a lambda (`x => …`)",
        Rule::lambda_params => "lambda parameters",
        Rule::if_expr => "`if … { … }`",
        Rule::match_expr => "`match … { … }`",
        Rule::match_arms => "the match arms in `{ … }`",
        Rule::for_expr => "`for … in … { … }`",
        Rule::patterns | Rule::pattern | Rule::literal_pattern => "a pattern",
        Rule::wildcard => "`_`",
        Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char => return None,
        Rule::item => {
            "an item (`use`, `param`, `table`, `mapping`, `fn`, `schema`, `format`, `enum`, `record` or `extend`)"
        }
        Rule::stmt => "a statement",
        Rule::literal => "a literal",
        Rule::base_type => "a type",
        Rule::postfix => "`.field` or `[…]`",
        Rule::primary | Rule::call_arg => "an expression",
    })
}

/// Tokens worth naming on their own: they say what the construct needs next.
const STRUCTURAL: &[&str] = &["=", ":", "{", "}", "(", ")", "[", "]", "=>", "->", ",", "|", "@", "?"];

/// Tokens that continue an expression; named together as "an operator".
/// (`-` is left out: it also starts an expression, and "an expression" says that.)
const OPERATORS: &[&str] = &["??", "==", "!=", "<=", ">=", "<", ">", "+", "*", "/", "%", "."];

/// The words after "expected", such as "`=`, `{` or a type"; `None` when
/// pest gave nothing usable.
pub fn describe_expected(error: &Error<Rule>) -> Option<String> {
    let mut words: BTreeSet<String> = BTreeSet::new();
    if let Some(attempts) = error.parse_attempts() {
        for stack in attempts.call_stacks() {
            let rule = stack.deepest.get_rule().copied().or(stack.parent);
            if let Some(text) = rule.and_then(describe) {
                words.insert(text.to_owned());
            }
        }
        let mut operator = false;
        for token in attempts.expected_tokens() {
            // Literal tokens display as themselves; ranges and built-in
            // rules display with letters or digits and are skipped.
            let token = token.to_string();
            if OPERATORS.contains(&token.as_str()) {
                operator = true;
            } else if STRUCTURAL.contains(&token.as_str()) {
                words.insert(format!("`{token}`"));
            }
        }
        if operator {
            words.insert("an operator".to_owned());
        }
    }
    if words.is_empty()
        && let ErrorVariant::ParsingError { positives, .. } = &error.variant
    {
        for rule in positives {
            if let Some(text) = describe(*rule) {
                words.insert(text.to_owned());
            }
        }
    }
    // A type may start with `[` or a name; "a type" says both.
    if words.contains("a type") {
        words.remove("`[`");
        words.remove("a name");
        words.remove("a name or dotted path");
    }
    // Openers that only start an expression are covered by "an expression".
    if words.contains("an expression") || words.contains("an operator") {
        for opener in ["`(`", "`[`", "`{`"] {
            words.remove(opener);
        }
    }
    // "the end of the item" is noise when something more useful is listed.
    if words.len() > 1 {
        words.remove("the end of the item");
    }
    if words.is_empty() {
        return None;
    }
    // Punctuation first, then words, each group sorted.
    let (punct, rest): (Vec<String>, Vec<String>) = words.into_iter().partition(|w| w.starts_with('`'));
    let all: Vec<String> = punct.into_iter().chain(rest).collect();
    Some(join_or(&all))
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The token at `at`, in words: "`}`", "`foo`", "a string", "the end of the
/// item".
pub fn describe_found(text: &str, at: usize, limit: usize) -> String {
    let at = found_offset(text, at, limit);
    let Some(first) = text.get(at..).and_then(|rest| rest.chars().next()) else {
        return "the end of the file".to_owned();
    };
    if first == '"' {
        return "a string".to_owned();
    }
    if first.is_ascii_digit() {
        return "a number".to_owned();
    }
    let width = found_width(text, at);
    format!("`{}`", text.get(at..at + width).unwrap_or(""))
}

/// Where the found token starts: `at` itself, or, when the chunk ended
/// there, the next token in the file (what the user sees next).
pub fn found_offset(text: &str, at: usize, limit: usize) -> usize {
    if at < limit {
        return at;
    }
    let rest = text.get(at..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start().len();
    at + skipped
}

/// How many bytes of the token at `at` to underline.
pub fn found_width(text: &str, at: usize) -> usize {
    let rest = text.get(at..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return 0;
    };
    if first.is_ascii_alphanumeric() || first == '_' {
        rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
            .unwrap_or(rest.len())
    } else if first == '"' {
        rest[1..].find(['"', '\n']).map_or(rest.len(), |n| n + 2)
    } else {
        for op in ["=>", "->", "==", "!=", "<=", ">=", "??"] {
            if rest.starts_with(op) {
                return op.len();
            }
        }
        first.len_utf8()
    }
}
