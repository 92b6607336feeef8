//! Cell values and their comparison rules.

use crate::time;
use std::cmp::Ordering;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Integer.
    Int(i64),
    /// String.
    Str(String),
    /// Boolean.
    Bool(bool),
    /// Time (Unix seconds); `None` when unknown (printed as an empty string).
    Time(Option<i64>),
    /// Day as Unix seconds at 00:00Z.
    Date(i64),
}

impl Value {
    /// The wire text (used by XML, CSV, table and PHP string output).
    pub fn text(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Str(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Time(Some(t)) => time::iso(*t),
            Value::Time(None) => String::new(),
            Value::Date(t) => time::date(*t),
        }
    }

    /// Total order used by `order_by`: numbers numerically, strings ASCII case-insensitively,
    /// unknown times first.
    pub fn order(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Time(a), Value::Time(b)) => a.cmp(b),
            (Value::Date(a), Value::Date(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => cmp_ci(a, b),
            _ => self.text().cmp(&other.text()),
        }
    }
}

/// ASCII case-insensitive string order.
pub fn cmp_ci(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}
