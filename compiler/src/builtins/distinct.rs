//! `distinct(values: [T], key: (T => K)?) -> [T]`: the elements without repeats (by value, or by key), the first of each kept.

#[allow(unused_imports)]
use super::typing::*;
use super::{Builtin, Example};

/// The builtin `distinct`.
pub const BUILTIN: Builtin = Builtin {
    name: "distinct",
    signature: "distinct(values: [T], key: (T => K)?) -> [T]",
    summary: "The elements without repeats (by value, or by key), the first of each kept.",
    docs: "",
    examples: &[
        Example {
            expr: "distinct([1, 2, 1])",
            ty: "[Int]",
            value: "[1, 2]",
        },
    ],
    arity: (1, 2),
    can_fail: false,
    modes: &[],
    lambda_params: super::element_lambda,
    typing: |t| {
        let list = t.args.first().and_then(super::ArgTy::ty).cloned();
        t.list(0)?;
        if t.count() == 2 {
            t.lambda(1)?;
        }
        Ok(list)
    },
};
