//! Content negotiation between the OCCI renderings.

use std::fmt;

/// The renderings disco speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `text/plain`: OCCI lines in the body (the default).
    TextPlain,
    /// `text/occi`: OCCI lines in the headers, body `OK`.
    TextOcci,
    /// `text/uri-list`: one location per line, collections only.
    UriList,
    /// `application/occi+json` (OCCI 1.2 JSON rendering).
    OcciJson,
}

impl MediaType {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::TextPlain => "text/plain; charset=utf-8",
            MediaType::TextOcci => "text/occi; charset=utf-8",
            MediaType::UriList => "text/uri-list; charset=utf-8",
            MediaType::OcciJson => "application/occi+json",
        }
    }

    /// The request body type named by a `Content-Type` header, if disco understands it.
    pub fn from_content_type(value: &str) -> Option<MediaType> {
        let essence = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "" | "text/plain" => Some(MediaType::TextPlain),
            "text/occi" => Some(MediaType::TextOcci),
            "text/uri-list" => Some(MediaType::UriList),
            "application/occi+json" | "application/json" => Some(MediaType::OcciJson),
            _ => None,
        }
    }
}

/// The client asked only for renderings that cannot carry this answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAcceptable {
    pub accept: String,
}

impl fmt::Display for NotAcceptable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot answer in any of `{}`; this resource is available as text/plain, \
             text/occi and application/occi+json (collections also as text/uri-list)",
            self.accept
        )
    }
}

/// Picks the rendering for a response from the `Accept` header.
///
/// `collection` says whether the answer is a list of locations, the only thing
/// `text/uri-list` can carry.
pub fn negotiate(accept: Option<&str>, collection: bool) -> Result<MediaType, NotAcceptable> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(MediaType::TextPlain);
    };
    let mut ranges: Vec<(f32, usize, &str)> = Vec::new();
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or("").trim();
        let mut quality = 1.0f32;
        for parameter in parts {
            if let Some(q) = parameter.trim().strip_prefix("q=") {
                quality = q.trim().parse().unwrap_or(0.0);
            }
        }
        if quality > 0.0 && !essence.is_empty() {
            ranges.push((quality, position, essence));
        }
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, essence) in ranges {
        let chosen = match essence.to_ascii_lowercase().as_str() {
            "*/*" | "text/*" | "text/plain" => Some(MediaType::TextPlain),
            "text/occi" => Some(MediaType::TextOcci),
            "text/uri-list" if collection => Some(MediaType::UriList),
            "application/occi+json" | "application/json" | "application/*" => {
                Some(MediaType::OcciJson)
            }
            _ => None,
        };
        if let Some(chosen) = chosen {
            return Ok(chosen);
        }
    }
    Err(NotAcceptable {
        accept: accept.chars().take(200).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_wildcard_accept_gives_text_plain() {
        assert_eq!(negotiate(None, false), Ok(MediaType::TextPlain));
        assert_eq!(negotiate(Some("*/*"), false), Ok(MediaType::TextPlain));
        assert_eq!(negotiate(Some(""), true), Ok(MediaType::TextPlain));
    }

    #[test]
    fn quality_values_order_the_choice() {
        assert_eq!(
            negotiate(Some("text/plain;q=0.5, application/occi+json"), false),
            Ok(MediaType::OcciJson)
        );
        assert_eq!(
            negotiate(Some("text/occi;q=0, text/plain"), false),
            Ok(MediaType::TextPlain)
        );
    }

    #[test]
    fn uri_list_is_only_for_collections() {
        assert_eq!(
            negotiate(Some("text/uri-list"), true),
            Ok(MediaType::UriList)
        );
        assert!(negotiate(Some("text/uri-list"), false).is_err());
        assert_eq!(
            negotiate(Some("text/uri-list, text/occi"), false),
            Ok(MediaType::TextOcci)
        );
    }

    #[test]
    fn impossible_accept_is_not_acceptable() {
        assert!(negotiate(Some("image/png"), false).is_err());
    }
}
