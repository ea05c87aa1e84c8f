//! Root-relative links in the HTML of a UI that cannot be told its path prefix (YARN, HDFS):
//! `href="/x"`, `src="/x"` and `action="/x"` become `…="<prefix>/x"` as the page streams
//! through, chunk by chunk, without holding it whole.

/// Attribute openings whose root-relative value gets the prefix.
const OPENINGS: [&[u8]; 6] = [
    b"href=\"",
    b"href='",
    b"src=\"",
    b"src='",
    b"action=\"",
    b"action='",
];

/// Rewrites a streamed HTML page; bytes that might start a link are held until the next
/// chunk shows whether they do.
pub struct LinkRewriter {
    prefix: Vec<u8>,
    pending: Vec<u8>,
}

impl LinkRewriter {
    /// `prefix` is the UI's gateway path without a trailing slash (`/disco/<id>/ui/yarn`).
    pub fn new(prefix: &str) -> LinkRewriter {
        LinkRewriter {
            prefix: prefix.trim_end_matches('/').as_bytes().to_vec(),
            pending: Vec::new(),
        }
    }

    /// How many bytes after a position decide whether a link starts there: the longest
    /// opening, the `/`, and enough to see that the link already has the prefix.
    fn lookahead(&self) -> usize {
        8 + 1 + self.prefix.len() + 1
    }

    /// The next part of the page, rewritten as far as it can be decided.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let decided = self.pending.len().saturating_sub(self.lookahead());
        self.rewrite(decided)
    }

    /// The rest of the page, once it has ended.
    pub fn finish(mut self) -> Vec<u8> {
        let all = self.pending.len();
        self.rewrite(all)
    }

    /// Emits the pending bytes before `until` (links starting there are rewritten whole) and
    /// keeps the rest.
    fn rewrite(&mut self, until: usize) -> Vec<u8> {
        let data = &self.pending;
        let mut out = Vec::with_capacity(until + 64);
        let mut i = 0;
        while i < until {
            match self.link_at(i) {
                Some(value_start) => {
                    out.extend_from_slice(&data[i..value_start]);
                    out.extend_from_slice(&self.prefix);
                    i = value_start;
                }
                None => {
                    out.push(data[i]);
                    i += 1;
                }
            }
        }
        self.pending.drain(..i.min(self.pending.len()));
        out
    }

    /// Where the value of a root-relative link opening at `i` starts, if one does and it does
    /// not already carry the prefix (nor is protocol-relative, `//host/…`).
    fn link_at(&self, i: usize) -> Option<usize> {
        let data = &self.pending;
        let opening = OPENINGS
            .iter()
            .find(|o| data.len() >= i + o.len() && data[i..i + o.len()].eq_ignore_ascii_case(o))?;
        let start = i + opening.len();
        let value = &data[start..];
        if value.first() != Some(&b'/') || value.get(1) == Some(&b'/') {
            return None;
        }
        let prefixed = value.starts_with(&self.prefix)
            && matches!(
                value.get(self.prefix.len()),
                None | Some(b'/' | b'"' | b'\'' | b'?')
            );
        (!prefixed).then_some(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "/disco/1/ui/yarn";

    fn whole(page: &str) -> String {
        let mut rewriter = LinkRewriter::new(PREFIX);
        let mut out = rewriter.feed(page.as_bytes());
        out.extend(rewriter.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn root_relative_links_get_the_prefix_and_others_do_not() {
        let page = r#"<a href="/cluster/apps">a</a><img SRC='/static/x.png'><form action="/ws">
<a href="//cdn.example/x">cdn</a><a href="http://h/x">abs</a><a href="rel/x">rel</a>
<a href="/disco/1/ui/yarn/done">done</a><a href="/disco/1/ui/yarnish">other</a>"#;
        assert_eq!(
            whole(page),
            r#"<a href="/disco/1/ui/yarn/cluster/apps">a</a><img SRC='/disco/1/ui/yarn/static/x.png'><form action="/disco/1/ui/yarn/ws">
<a href="//cdn.example/x">cdn</a><a href="http://h/x">abs</a><a href="rel/x">rel</a>
<a href="/disco/1/ui/yarn/done">done</a><a href="/disco/1/ui/yarn/disco/1/ui/yarnish">other</a>"#
        );
    }

    #[test]
    fn a_page_split_anywhere_gives_the_same_result() {
        let page =
            r#"<p>x</p><a href="/a">1</a> <script src='/s.js'></script><a href="/">root</a>"#;
        let expected = whole(page);
        assert!(
            expected.contains(r#"href="/disco/1/ui/yarn/""#),
            "{expected}"
        );
        for cut in 0..=page.len() {
            for second in cut..=page.len() {
                let mut rewriter = LinkRewriter::new(PREFIX);
                let mut out = rewriter.feed(&page.as_bytes()[..cut]);
                out.extend(rewriter.feed(&page.as_bytes()[cut..second]));
                out.extend(rewriter.feed(&page.as_bytes()[second..]));
                out.extend(rewriter.finish());
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    expected,
                    "cut {cut}/{second}"
                );
            }
        }
    }

    #[test]
    fn a_page_that_ends_inside_an_opening_is_kept_as_it_was() {
        assert_eq!(whole(r#"<a href=""#), r#"<a href=""#);
        assert_eq!(whole(r#"<a href="/"#), r#"<a href="/disco/1/ui/yarn/"#);
        assert_eq!(whole(""), "");
    }
}
