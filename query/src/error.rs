//! Every way a query can fail. The messages are the API's error texts (HTTP 200
//! `{"error": ...}`), so they name the problem and how to fix it.

use linkdiff_store::StoreError;

/// Why a `where`/`having` text does not parse: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SyntaxError(pub String);

/// A query error.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// `where`/`having` does not parse.
    #[error("Bad '{clause}': {error}")]
    Syntax {
        /// `where` or `having`.
        clause: &'static str,
        /// Where and what.
        #[source]
        error: SyntaxError,
    },
    /// A column the table does not have.
    #[error("Unknown column '{col}'{place} for table {table}")]
    UnknownColumn {
        /// The name given.
        col: String,
        /// ` in 'select'`, ` in 'order_by'` or empty (filters).
        place: &'static str,
        /// Table name.
        table: &'static str,
    },
    /// A column the clause may not use (seed column tables).
    #[error("Column '{col}' can not be used in '{clause}' for table {table}")]
    NotAllowed {
        /// Column.
        col: &'static str,
        /// `where` or `having`.
        clause: &'static str,
        /// Table name.
        table: &'static str,
    },
    /// A grouped table selected a column that is not a group column.
    #[error("Column '{col}' can not be selected for table {table}: it is not a grouped column")]
    NotGrouped {
        /// Column.
        col: &'static str,
        /// Table name.
        table: &'static str,
    },
    /// A literal that does not fit its column's type, or a function on a non-string column.
    #[error("{0}")]
    BadValue(String),
    /// `order_by` direction other than asc/desc.
    #[error("Unknown order direction '{dir}' for '{col}' (use asc or desc)")]
    BadDirection {
        /// Direction given.
        dir: String,
        /// Column.
        col: String,
    },
    /// `limit` over [`crate::MAX_LIMIT`].
    #[error("limit {0} is over the maximum of {max}", max = crate::MAX_LIMIT)]
    LimitTooLarge(usize),
    /// No target.
    #[error(transparent)]
    EmptyTarget(#[from] linkdiff_model::EmptyTarget),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<linkdiff_store::rusqlite::Error> for QueryError {
    fn from(e: linkdiff_store::rusqlite::Error) -> Self {
        QueryError::Store(StoreError::Sqlite(e))
    }
}

/// Result alias for queries.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
