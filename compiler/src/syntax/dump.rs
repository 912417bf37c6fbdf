//! A compact, readable dump of a syntax tree, for parser snapshot tests and
//! `mapc parse --dump` style debugging. Expressions print as
//! S-expressions; every node shows the source it came from only through its
//! structure, so the dump stays stable when whitespace changes.

use super::ast::*;
use std::fmt::Write as _;

/// Dumps a whole module, one item per paragraph.
pub fn dump(module: &Module) -> String {
    let mut out = String::new();
    for item in &module.items {
        dump_item(&mut out, item);
    }
    out
}

fn line(out: &mut String, indent: usize, text: &str) {
    for _ in 0..indent {
        out.push_str("  ");
    }
    out.push_str(text);
    out.push('\n');
}

fn doc(out: &mut String, indent: usize, doc: &Option<Doc>) {
    if let Some(doc) = doc {
        line(out, indent, &format!("doc {:?}", doc.text));
    }
}

fn broken(out: &mut String, indent: usize, spans: &[crate::span::Span]) {
    for span in spans {
        line(out, indent, &format!("<error {}..{}>", span.start, span.end));
    }
}

fn dump_item(out: &mut String, item: &Item) {
    doc(out, 0, &item.doc);
    match &item.kind {
        ItemKind::Schema(path) => line(out, 0, &format!("schema {}", path.dotted())),
        ItemKind::Format(format) => {
            line(out, 0, &format!("format {}", format.kind.name));
            for setting in &format.settings {
                let qualifier = setting
                    .qualifier
                    .as_ref()
                    .map(|q| format!(" {}", q.name))
                    .unwrap_or_default();
                line(
                    out,
                    1,
                    &format!("{}{} {}", setting.key.name, qualifier, literal(&setting.value)),
                );
            }
            broken(out, 1, &format.broken);
        }
        ItemKind::Use(use_decl) => {
            let names: Vec<String> = use_decl
                .names
                .iter()
                .map(|name| match &name.alias {
                    Some(alias) => format!("{} as {}", name.name.name, alias.name),
                    None => name.name.name.clone(),
                })
                .collect();
            line(
                out,
                0,
                &format!("use {} {{{}}}", use_decl.module.dotted(), names.join(", ")),
            );
        }
        ItemKind::Enum(decl) => {
            line(
                out,
                0,
                &format!("enum {}{}", decl.name.name, annotations(&decl.annotations)),
            );
            for variant in &decl.variants {
                doc(out, 1, &variant.doc);
                line(
                    out,
                    1,
                    &format!("{}{}", variant.name.name, annotations(&variant.annotations)),
                );
            }
            broken(out, 1, &decl.broken);
        }
        ItemKind::Record(decl) => {
            line(
                out,
                0,
                &format!("record {}{}", decl.name.name, annotations(&decl.annotations)),
            );
            fields(out, &decl.fields, &decl.broken);
        }
        ItemKind::Extend(decl) => {
            line(out, 0, &format!("extend record {}", decl.target.dotted()));
            fields(out, &decl.fields, &decl.broken);
        }
        ItemKind::Param(param) => {
            let default = param
                .default
                .as_ref()
                .map(|e| format!(" = {}", expr(e)))
                .unwrap_or_default();
            line(
                out,
                0,
                &format!("param {}: {}{}", param.name.name, type_ref(&param.ty), default),
            );
        }
        ItemKind::Table(table) => {
            line(
                out,
                0,
                &format!(
                    "table {}: {} -> {}",
                    table.name.name,
                    type_ref(&table.key),
                    type_ref(&table.value)
                ),
            );
            match &table.entries {
                None => line(out, 1, "external"),
                Some(entries) => {
                    for entry in entries {
                        line(
                            out,
                            1,
                            &format!("{} => {}", patterns(&entry.patterns), expr(&entry.value)),
                        );
                    }
                }
            }
            broken(out, 1, &table.broken);
        }
        ItemKind::Mapping(function) | ItemKind::Function(function) => {
            let keyword = if matches!(item.kind, ItemKind::Mapping(_)) {
                "mapping"
            } else {
                "fn"
            };
            let params: Vec<String> = function
                .params
                .iter()
                .map(|p| format!("{}: {}", p.name.name, type_ref(&p.ty)))
                .collect();
            line(
                out,
                0,
                &format!(
                    "{keyword} {}({}) -> {}",
                    function.name.name,
                    params.join(", "),
                    type_ref(&function.result)
                ),
            );
            block(out, 1, &function.body);
        }
        ItemKind::Error => line(out, 0, &format!("<error {}..{}>", item.span.start, item.span.end)),
    }
}

fn fields(out: &mut String, fields: &[FieldDecl], spans: &[crate::span::Span]) {
    for field in fields {
        doc(out, 1, &field.doc);
        line(
            out,
            1,
            &format!(
                "{}: {}{}",
                field.name.name,
                type_ref(&field.ty),
                annotations(&field.annotations)
            ),
        );
    }
    broken(out, 1, spans);
}

fn annotations(list: &[Annotation]) -> String {
    let mut out = String::new();
    for annotation in list {
        let _ = write!(out, " @{}", annotation.name.name);
        if !annotation.args.is_empty() {
            let args: Vec<String> = annotation
                .args
                .iter()
                .map(|arg| match &arg.key {
                    Some(key) => format!("{} = {}", key.name, literal(&arg.value)),
                    None => literal(&arg.value),
                })
                .collect();
            let _ = write!(out, "({})", args.join(", "));
        }
    }
    out
}

fn literal(value: &Literal) -> String {
    match value {
        Literal::Str(text) => format!("{text:?}"),
        Literal::Number(text) | Literal::Word(text) => text.clone(),
        Literal::Bool(value) => value.to_string(),
    }
}

/// A type as text.
pub fn type_ref(ty: &TypeRef) -> String {
    match &ty.kind {
        TypeRefKind::Named { path, args } => {
            if args.is_empty() {
                path.dotted()
            } else {
                let args: Vec<&str> = args.iter().map(|(a, _)| a.as_str()).collect();
                format!("{}({})", path.dotted(), args.join(", "))
            }
        }
        TypeRefKind::List(inner) => format!("[{}]", type_ref(inner)),
        TypeRefKind::Optional(inner) => format!("{}?", type_ref(inner)),
    }
}

fn patterns(list: &[Pattern]) -> String {
    let parts: Vec<String> = list
        .iter()
        .map(|pattern| match pattern {
            Pattern::Wildcard(_) => "_".to_owned(),
            Pattern::Literal(e) => expr(e),
            Pattern::Path(path) => path.dotted(),
        })
        .collect();
    parts.join(" | ")
}

fn block(out: &mut String, indent: usize, block: &Block) {
    for stmt in &block.stmts {
        match &stmt.kind {
            StmtKind::Let { name, ty, value } => {
                let ty = ty.as_ref().map(|t| format!(": {}", type_ref(t))).unwrap_or_default();
                line(out, indent, &format!("let {}{ty} = {}", name.name, expr(value)));
            }
            StmtKind::Assign { field, value } => line(out, indent, &format!("{} = {}", field.name, expr(value))),
            StmtKind::Nested { field, block: inner } => {
                line(out, indent, &format!("{} {{", field.name));
                block_inner(out, indent + 1, inner);
                line(out, indent, "}");
            }
            StmtKind::Expr(value) => line(out, indent, &expr(value)),
            StmtKind::Error => line(out, indent, &format!("<error {}..{}>", stmt.span.start, stmt.span.end)),
        }
    }
}

fn block_inner(out: &mut String, indent: usize, inner: &Block) {
    block(out, indent, inner);
}

fn block_expr(inner: &Block) -> String {
    let mut text = String::new();
    block(&mut text, 0, inner);
    let lines: Vec<&str> = text.lines().collect();
    format!("{{{}}}", lines.join("; "))
}

/// An expression as an S-expression.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Str(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|part| match part {
                    StrPart::Text(text) => format!("{text:?}"),
                    StrPart::Interpolation(inner) => format!("{{{}}}", expr(inner)),
                })
                .collect();
            if parts.len() == 1 {
                parts[0].clone()
            } else {
                format!("(str {})", parts.join(" "))
            }
        }
        ExprKind::Number(text) => text.clone(),
        ExprKind::Bool(value) => value.to_string(),
        ExprKind::None => "none".to_owned(),
        ExprKind::Name(name) => name.name.clone(),
        ExprKind::Field { base, name } => format!("{}.{}", expr(base), name.name),
        ExprKind::Index { base, index } => format!("{}[{}]", expr(base), expr(index)),
        ExprKind::Call { callee, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|arg| match arg {
                    Arg::Expr(value) => expr(value),
                    Arg::Lambda(lambda) => {
                        let params: Vec<&str> = lambda.params.iter().map(|p| p.name.as_str()).collect();
                        format!("(fn ({}) {})", params.join(" "), expr(&lambda.body))
                    }
                })
                .collect();
            format!("({} {})", callee.name, args.join(" "))
        }
        ExprKind::Unary { op, operand } => {
            let op = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Not => "not",
            };
            format!("({op} {})", expr(operand))
        }
        ExprKind::Binary { op, lhs, rhs, .. } => format!("({} {} {})", op.as_str(), expr(lhs), expr(rhs)),
        ExprKind::If { cond, then, otherwise } => {
            let otherwise = otherwise
                .as_ref()
                .map(|o| format!(" else {}", expr(o)))
                .unwrap_or_default();
            format!("(if {} {}{otherwise})", expr(cond), block_expr(then))
        }
        ExprKind::Match {
            scrutinee,
            arms,
            broken,
        } => {
            let mut parts: Vec<String> = arms
                .iter()
                .map(|arm| {
                    let guard = arm
                        .guard
                        .as_ref()
                        .map(|g| format!(" if {}", expr(g)))
                        .unwrap_or_default();
                    format!("[{}{guard} => {}]", patterns(&arm.patterns), expr(&arm.value))
                })
                .collect();
            parts.extend(
                broken
                    .iter()
                    .map(|span| format!("<error {}..{}>", span.start, span.end)),
            );
            format!("(match {} {})", expr(scrutinee), parts.join(" "))
        }
        ExprKind::For {
            item,
            index,
            source,
            filter,
            body,
        } => {
            let index = index.as_ref().map(|i| format!(", {}", i.name)).unwrap_or_default();
            let filter = filter
                .as_ref()
                .map(|f| format!(" where {}", expr(f)))
                .unwrap_or_default();
            format!(
                "(for {}{index} in {}{filter} {})",
                item.name,
                expr(source),
                block_expr(body)
            )
        }
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(expr).collect();
            format!("[{}]", items.join(", "))
        }
        ExprKind::Block(inner) => block_expr(inner),
        ExprKind::Error => "<error>".to_owned(),
    }
}
