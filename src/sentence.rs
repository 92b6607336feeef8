//! How an error reads to a user: one sentence, whoever shows it (the CLI's last line, a
//! webhook failure in a run summary, the dashboard). Below `cli`, `api` and `alerts`, which
//! all use it.

/// One sentence from an error chain: the outermost context and its root cause.
pub fn of(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    parts.dedup();
    let s = parts.join(": ");
    if s.ends_with('.') {
        s
    } else {
        format!("{s}.")
    }
}
