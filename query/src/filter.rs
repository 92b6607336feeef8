//! The `where` / `having` language (SPEC §6): a comma-separated conjunction of
//! `col OP value` (OP in `= : <> < <= > >=`) and `subdomain(col,"v")`, `substring(col,"v")`,
//! `word(col,"v")`. Strings in double quotes with backslash escapes; numbers bare or quoted.

use crate::catalogue::{Col, ColType, Column, Table};
use crate::error::{QueryError, Result, SyntaxError};
use crate::time;
use crate::value::{cmp_ci, Value};
use std::cmp::Ordering;
use std::fmt;

/// Longest expression accepted, in bytes.
pub const MAX_EXPR: usize = 16 * 1024;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=` or `:`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Op {
    /// The operator as written in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
    fn test(self, o: Ordering) -> bool {
        match self {
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
        }
    }
}

/// A string function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// The URL's host is `v` or a subdomain of it.
    Subdomain,
    /// The value contains `v`.
    Substring,
    /// The value contains `v` as a whole word.
    Word,
}

impl Func {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            Func::Subdomain => "subdomain",
            Func::Substring => "substring",
            Func::Word => "word",
        }
    }
}

/// One term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// `col OP value`.
    Cmp {
        /// Column name, lowercase.
        col: String,
        /// Operator.
        op: Op,
        /// Literal text (unescaped).
        value: String,
    },
    /// `func(col,"value")`.
    Call {
        /// Function.
        func: Func,
        /// Column name, lowercase.
        col: String,
        /// Argument (unescaped).
        value: String,
    },
}

/// A parsed filter: all terms must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// The terms.
    pub terms: Vec<Term>,
}

/// `s` as a literal of the language: bare when it is a plain word, number or date (as users
/// write `nofollow=true`), else quoted with backslash escapes.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match t {
                Term::Cmp { col, op, value } => write!(f, "{col}{}{}", op.as_str(), quote(value))?,
                Term::Call { func, col, value } => {
                    write!(f, "{}({col},{})", func.as_str(), quote(value))?
                }
            }
        }
        Ok(())
    }
}

struct P<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> P<'a> {
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(|c: char| c.is_whitespace()) {
            self.i += self.s[self.i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn err(&self, what: &str) -> String {
        format!(
            "malformed expression at character {}: {what}",
            self.s[..self.i].chars().count() + 1
        )
    }
    fn ident(&mut self) -> Result<String, String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.i += 1;
        }
        if start == self.i {
            return Err(self.err("expected a column name"));
        }
        Ok(self.s[start..self.i].to_ascii_lowercase())
    }
    fn value(&mut self, stop: &[char]) -> Result<String, String> {
        self.ws();
        // The official PHP client quotes with addslashes: `\"text\"`.
        if self.s[self.i..].starts_with("\\\"") {
            self.i += 2;
            let mut out = String::new();
            loop {
                let rest = &self.s[self.i..];
                if rest.starts_with("\\\"")
                    && rest[2..].trim_start().starts_with([',', ')']) | rest[2..].trim().is_empty()
                {
                    self.i += 2;
                    return Ok(out);
                }
                let Some(c) = rest.chars().next() else {
                    return Err(self.err("unterminated string"));
                };
                self.i += c.len_utf8();
                if c == '\\' {
                    if let Some(n) = self.peek() {
                        self.i += n.len_utf8();
                        out.push(n);
                        continue;
                    }
                }
                out.push(c);
            }
        }
        if self.peek() == Some('"') {
            self.i += 1;
            let mut out = String::new();
            loop {
                let Some(c) = self.peek() else {
                    return Err(self.err("unterminated string"));
                };
                self.i += c.len_utf8();
                match c {
                    '"' => return Ok(out),
                    '\\' => {
                        let Some(n) = self.peek() else {
                            return Err(self.err("unterminated string"));
                        };
                        self.i += n.len_utf8();
                        out.push(n);
                    }
                    c => out.push(c),
                }
            }
        }
        let start = self.i;
        while self.peek().is_some_and(|c| !stop.contains(&c)) {
            self.i += self.peek().map_or(1, char::len_utf8);
        }
        let v = self.s[start..self.i].trim();
        if v.is_empty() {
            return Err(self.err("expected a value"));
        }
        Ok(v.to_string())
    }
}

/// Parse a filter expression. An empty string is an empty filter.
pub fn parse(s: &str) -> Result<Filter, SyntaxError> {
    parse_terms(s).map_err(SyntaxError)
}

fn parse_terms(s: &str) -> Result<Filter, String> {
    if s.len() > MAX_EXPR {
        return Err(format!(
            "expression is {} bytes long; the limit is {MAX_EXPR}",
            s.len()
        ));
    }
    let mut p = P { s, i: 0 };
    let mut terms = Vec::new();
    p.ws();
    if p.peek().is_none() {
        return Ok(Filter { terms });
    }
    loop {
        p.ws();
        let name = p.ident()?;
        p.ws();
        if p.peek() == Some('(') {
            p.i += 1;
            let func = match name.as_str() {
                "subdomain" => Func::Subdomain,
                "substring" => Func::Substring,
                "word" => Func::Word,
                other => {
                    return Err(format!(
                        "unknown function '{other}' (use subdomain, substring or word)"
                    ))
                }
            };
            p.ws();
            let col = p.ident()?;
            p.ws();
            if p.peek() != Some(',') {
                return Err(p.err("expected ',' after the column"));
            }
            p.i += 1;
            let value = p.value(&[')'])?;
            p.ws();
            if p.peek() != Some(')') {
                return Err(p.err("expected ')'"));
            }
            p.i += 1;
            terms.push(Term::Call { func, col, value });
        } else {
            let rest = &p.s[p.i..];
            let (op, len) = if rest.starts_with("<>") {
                (Op::Ne, 2)
            } else if rest.starts_with("<=") {
                (Op::Le, 2)
            } else if rest.starts_with(">=") {
                (Op::Ge, 2)
            } else if rest.starts_with('=') || rest.starts_with(':') {
                (Op::Eq, 1)
            } else if rest.starts_with('<') {
                (Op::Lt, 1)
            } else if rest.starts_with('>') {
                (Op::Gt, 1)
            } else {
                return Err(p.err(&format!("expected an operator after '{name}'")));
            };
            p.i += len;
            let value = p.value(&[','])?;
            terms.push(Term::Cmp {
                col: name,
                op,
                value,
            });
        }
        p.ws();
        match p.peek() {
            None => break,
            Some(',') => p.i += 1,
            Some(_) => return Err(p.err("expected ',' between terms")),
        }
    }
    Ok(Filter { terms })
}

/// A typed literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
    /// Time; `day_only` compares whole UTC days (a `YYYY-MM-DD` literal or a date column).
    Time {
        /// Unix seconds.
        t: i64,
        /// Compare days, not seconds.
        day_only: bool,
    },
    /// String (compared ASCII case-insensitively).
    Str(String),
}

/// What a condition tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `col OP literal`.
    Cmp(Op, Lit),
    /// `func(col, "needle")`, needle lowercased.
    Call(Func, String),
}

/// One term of a filter bound to a column.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    /// The column.
    pub col: &'static Column,
    /// The test.
    pub test: Test,
}

/// Bind `f` to `table`'s columns, checking each column may be used in `clause`
/// (`where`/`having`).
pub fn compile(f: &Filter, table: Table, clause: &'static str) -> Result<Vec<Cond>> {
    let mut out = Vec::new();
    for t in &f.terms {
        let col = match t {
            Term::Cmp { col, .. } | Term::Call { col, .. } => col,
        };
        let Some(c) = table.find(col) else {
            return Err(QueryError::UnknownColumn {
                col: col.clone(),
                place: "",
                table: table.name(),
            });
        };
        let allowed = if clause == "where" {
            c.where_ok
        } else {
            c.having_ok
        };
        if !allowed {
            return Err(QueryError::NotAllowed {
                col: c.name,
                clause,
                table: table.name(),
            });
        }
        let test = match t {
            Term::Cmp { op, value, .. } => Test::Cmp(*op, literal(c, value)?),
            Term::Call { func, value, .. } => {
                if c.ty != ColType::Str {
                    return Err(QueryError::BadValue(format!(
                        "{}() needs a string column; '{col}' is not one",
                        func.as_str()
                    )));
                }
                Test::Call(*func, value.to_ascii_lowercase())
            }
        };
        out.push(Cond { col: c, test });
    }
    Ok(out)
}

fn literal(c: &Column, v: &str) -> Result<Lit> {
    let bad = |what: &str| {
        QueryError::BadValue(format!("Value '{v}' is not {what} for column '{}'", c.name))
    };
    Ok(match c.ty {
        ColType::Int => Lit::Int(v.trim().parse().map_err(|_| bad("an integer"))?),
        ColType::Bool => Lit::Bool(match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("a boolean (true, false, 1 or 0)")),
        }),
        ColType::Time | ColType::Date => {
            let t = time::parse(v).ok_or_else(|| bad("a date (YYYY-MM-DD) or an ISO time"))?;
            Lit::Time {
                t,
                day_only: v.trim().len() == 10 || c.ty == ColType::Date,
            }
        }
        ColType::Str => Lit::Str(v.to_string()),
    })
}

fn host_of(url: &str) -> String {
    linkdiff_model::url_host(url).to_ascii_lowercase()
}

impl Cond {
    /// Whether `v` (a value of this condition's column) passes.
    pub fn eval(&self, v: &Value) -> bool {
        match &self.test {
            Test::Cmp(op, lit) => {
                let o = match (v, lit) {
                    (Value::Int(a), Lit::Int(b)) => a.cmp(b),
                    (Value::Bool(a), Lit::Bool(b)) => a.cmp(b),
                    (Value::Str(a), Lit::Str(b)) => cmp_ci(a, b),
                    (Value::Time(None), Lit::Time { .. }) => return *op == Op::Ne,
                    (Value::Time(Some(a)) | Value::Date(a), Lit::Time { t, day_only }) => {
                        if *day_only {
                            time::day(*a).cmp(&time::day(*t))
                        } else {
                            a.cmp(t)
                        }
                    }
                    _ => return false,
                };
                op.test(o)
            }
            Test::Call(func, needle) => {
                let Value::Str(s) = v else { return false };
                match func {
                    Func::Substring => s.to_ascii_lowercase().contains(needle.as_str()),
                    Func::Subdomain => {
                        let h = host_of(s);
                        h == *needle || h.ends_with(&format!(".{needle}"))
                    }
                    Func::Word => s
                        .to_ascii_lowercase()
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|w| w == needle),
                }
            }
        }
    }
}

/// Whether every condition of `conds` for which `only` holds passes on `row` (cells in
/// `table`'s catalogue order).
pub fn matches(conds: &[Cond], table: Table, row: &[Value], only: impl Fn(Col) -> bool) -> bool {
    conds
        .iter()
        .filter(|c| only(c.col.id))
        .all(|c| table.index(c.col.id).is_some_and(|i| c.eval(&row[i])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_form() {
        let f = parse(r#"ahrefs_rank>=5, anchor:"a, \"b\"" ,subdomain(url_from,"x.com"),nofollow=false,first_seen<"2024-01-01",word(title,seo)"#).unwrap();
        assert_eq!(f.terms.len(), 6);
        assert_eq!(
            f.terms[1],
            Term::Cmp {
                col: "anchor".into(),
                op: Op::Eq,
                value: "a, \"b\"".into()
            }
        );
        assert!(parse("").unwrap().terms.is_empty());
        // addslashes quoting from the PHP client.
        let f = parse(r#"anchor=\"it\'s \"x\"\""#).unwrap();
        assert_eq!(
            f.terms[0],
            Term::Cmp {
                col: "anchor".into(),
                op: Op::Eq,
                value: "it's \"x\"".into()
            }
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse(r#"anchor="abc"#)
            .unwrap_err()
            .0
            .contains("unterminated string"));
        assert!(parse("anchor")
            .unwrap_err()
            .0
            .contains("expected an operator"));
        assert!(parse("foo(x,1)")
            .unwrap_err()
            .0
            .contains("unknown function 'foo'"));
        assert!(parse(&"a=1,".repeat(10_000))
            .unwrap_err()
            .0
            .contains("limit"));
        let f = parse("url_from=x").unwrap();
        assert_eq!(
            compile(&f, Table::Counters, "having")
                .unwrap_err()
                .to_string(),
            "Column 'url_from' can not be used in 'having' for table backlinks_new_lost_counters"
        );
        let f = parse("bogus=1").unwrap();
        assert!(compile(&f, Table::Backlinks, "where")
            .unwrap_err()
            .to_string()
            .contains("Unknown column 'bogus'"));
        let f = parse("ahrefs_rank=abc").unwrap();
        assert!(compile(&f, Table::Backlinks, "where")
            .unwrap_err()
            .to_string()
            .contains("not an integer"));
    }

    #[test]
    fn evaluates_case_insensitively_and_by_day() {
        let f = parse(r#"anchor="HELLO",first_seen="2024-03-01",substring(url_from,"EXAMPLE"),word(title,"seo")"#).unwrap();
        let t = Table::Backlinks;
        let c = compile(&f, t, "where").unwrap();
        let mut row: Vec<Value> = t.columns().iter().map(|_| Value::Int(0)).collect();
        let mut set = |col: Col, v: Value| row[t.index(col).unwrap()] = v;
        set(Col::UrlFrom, Value::Str("http://www.example.com/".into()));
        set(Col::Title, Value::Str("Best SEO tools".into()));
        set(Col::FirstSeen, Value::Time(Some(1_709_251_200 + 3600)));
        set(Col::Anchor, Value::Str("hello".into()));
        assert!(matches(&c, t, &row, |_| true));
        row[t.index(Col::Title).unwrap()] = Value::Str("seotools".into());
        assert!(!matches(&c, t, &row, |_| true));
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn print_then_parse_is_stable(s in r#"[a-z_]{1,8}(=|<>|<=|>=|<|>|:)("[^"\\]{0,8}"|[a-z0-9]{1,5})(,[a-z_]{1,8}(=|<)"[ -~]{0,8}")*"#) {
            if let Ok(f) = parse(&s) {
                let printed = f.to_string();
                let again = parse(&printed).expect("printed filters parse");
                prop_assert_eq!(&again, &f);
                prop_assert_eq!(again.to_string(), printed);
            }
        }
    }
}
