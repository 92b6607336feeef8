//! The generated pages benchmarks read: realistic HTML of a given size (head, navigation, paragraphs with inline links, sidebar lists, footer).

use super::*;

/// A realistic page of about `size` bytes: head with scripts and styles, navigation, article
/// paragraphs with inline links, sidebar lists, footer.
pub fn realistic_page(seed: usize, size: usize) -> String {
    let w = |i: usize| WORDS[(seed.wrapping_mul(31).wrapping_add(i * 7)) % WORDS.len()];
    let mut s = String::with_capacity(size + 4096);
    s.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    let _ = write!(s, "{} {} — {} {}", w(1), w(2), w(3), seed);
    s.push_str("</title><link rel=\"canonical\" href=\"https://www.site.com/article\"><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/feed\">");
    s.push_str("<style>body{font-family:sans-serif;margin:0}.nav a{padding:4px 8px;color:#333}.card{border:1px solid #eee;border-radius:4px;padding:12px}</style>");
    s.push_str("<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());");
    s.push_str(&"var cfg={a:1,b:'<a href=\"x\">not a link</a>',c:[1,2,3]};".repeat(20));
    s.push_str("</script></head><body><header><nav class=\"nav\"><ul>");
    for i in 0..40 {
        let _ = write!(
            s,
            "<li><a href=\"/section/{}/{i}\">{} {}</a></li>",
            w(i),
            w(i),
            w(i + 1)
        );
    }
    s.push_str("</ul></nav></header><main><article>");
    let mut i = 0;
    while s.len() < size.saturating_sub(3000) {
        let _ = write!(
            s,
            "<h2>{} {}</h2><p style=\"margin:8px 0\">The {} of {} {} is <a href=\"https://{}{}.example.org/{}/{}\" rel=\"{}\">{} {}</a> and <b>{}</b> <em>{}</em> with <a href=\"/internal/{}\"><img src=\"/i/{i}.png\" alt=\"{} image\"></a> more {} {} text about {} {} for readers.</p>",
            w(i), w(i + 2), w(i + 3), w(i + 4), w(i + 5), w(i + 6), i % 97, w(i + 7), i,
            if i % 5 == 0 { "nofollow" } else { "noopener" }, w(i + 8), w(i + 9), w(i + 10), w(i + 11), i, w(i + 12), w(i + 13), w(i + 14), w(i + 15), w(i + 16)
        );
        i += 1;
    }
    s.push_str("</article><aside><ul>");
    for i in 0..20 {
        let _ = write!(
            s,
            "<li><a href=\"https://partner{i}.net/\">{} partner</a></li>",
            w(i)
        );
    }
    s.push_str("</ul></aside></main><footer><p>© Site. <a href=\"/privacy\">Privacy</a> · <a href=\"/terms\">Terms</a></p></footer></body></html>");
    s
}
