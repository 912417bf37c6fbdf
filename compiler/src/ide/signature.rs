//! Signature help: the signature of the call around the cursor, with the
//! argument being written marked.
//!
//! It reads the scanner's tokens backwards from the cursor to the
//! unmatched `(` of a call, so it works while the call is half-typed.

use super::FileView;
use crate::builtins;
use crate::resolve::{DefKind, ModuleLoader};
use crate::syntax::scan::{self, TokenKind};

/// One signature of a function (builtins may have several).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The whole signature.
    pub label: String,
    /// Each parameter as written in the label.
    pub parameters: Vec<String>,
    /// Docs.
    pub documentation: Option<String>,
}

/// The signatures of the call around `offset` and which parameter the
/// cursor is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHelp {
    /// The signatures (overloads).
    pub signatures: Vec<Signature>,
    /// The overload that fits the arguments written so far.
    pub active_signature: usize,
    /// The parameter being written.
    pub active_parameter: usize,
}

/// The signature help at `offset`.
pub fn signature_help<L: ModuleLoader>(view: &FileView<'_, L>, offset: usize) -> Option<SignatureHelp> {
    let text = view.text();
    let scanned = scan::scan(view.module.file, text);
    let tokens: Vec<_> = scanned
        .tokens
        .iter()
        .filter(|t| (t.span.end as usize) <= offset && t.kind != TokenKind::Newline)
        .collect();
    let mut depth = 0usize;
    let mut commas = 0usize;
    let mut index = tokens.len();
    while index > 0 {
        index -= 1;
        let token = tokens[index];
        let word = text.get(token.span.range()).unwrap_or("");
        match token.kind {
            TokenKind::Close => depth += 1,
            TokenKind::Open if depth > 0 => depth -= 1,
            TokenKind::Open => {
                if word != "(" || index == 0 {
                    return None;
                }
                let callee = tokens[index - 1];
                if callee.kind != TokenKind::Word {
                    return None;
                }
                let name = text.get(callee.span.range()).unwrap_or("");
                return help_for(view, name, commas);
            }
            TokenKind::Punct if depth == 0 && word == "," => commas += 1,
            _ => {}
        }
    }
    None
}

fn help_for<L: ModuleLoader>(view: &FileView<'_, L>, name: &str, argument: usize) -> Option<SignatureHelp> {
    if let Some(Some(def)) = view.module.scope.get(name).map(|d| match d.kind {
        DefKind::Function(..) => Some(d),
        _ => None,
    }) {
        let location = def.location;
        let signature = super::hover::item_signature(view, location)?;
        let label = signature.trim_start_matches("fn ").to_owned();
        let parameters = split_parameters(&label);
        let documentation = super::item_doc(view.ws, location).map(|d| d.text.clone());
        return Some(SignatureHelp {
            signatures: vec![Signature {
                label,
                parameters,
                documentation,
            }],
            active_signature: 0,
            active_parameter: argument,
        });
    }
    let builtin = builtins::get(name)?;
    let signatures: Vec<Signature> = overloads(builtin.signature, builtin.name)
        .into_iter()
        .map(|label| Signature {
            parameters: split_parameters(&label),
            label,
            documentation: Some(format!("{}\n\n{}", builtin.summary, builtin.docs)),
        })
        .collect();
    let active_signature = signatures
        .iter()
        .position(|s| s.parameters.len() > argument || s.parameters.iter().any(|p| p.ends_with("...")))
        .unwrap_or(0);
    Some(SignatureHelp {
        signatures,
        active_signature,
        active_parameter: argument,
    })
}

/// The overloads in a builtin's signature (`max(a, b) -> n | max(values) -> T?`).
pub fn overloads(signature: &str, name: &str) -> Vec<String> {
    let separator = format!(" | {name}(");
    let mut out = Vec::new();
    let mut rest = signature;
    while let Some(at) = rest.find(&separator) {
        out.push(rest[..at].to_owned());
        rest = &rest[at + 3..];
    }
    out.push(rest.to_owned());
    out
}

/// The parameters of a signature label, as written.
pub fn split_parameters(label: &str) -> Vec<String> {
    let Some(open) = label.find('(') else {
        return Vec::new();
    };
    let mut depth = 0usize;
    let mut params = Vec::new();
    let mut current = String::new();
    for c in label[open + 1..].chars() {
        match c {
            '(' | '[' => {
                depth += 1;
                current.push(c);
            }
            ')' if depth == 0 => break,
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => {
                params.push(current.trim().to_owned());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        params.push(current.trim().to_owned());
    }
    params
}
