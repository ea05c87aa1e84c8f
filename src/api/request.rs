//! Turning an HTTP request into OCCI terms: header text, the request's categories and
//! attributes (headers and body), and cluster ids from paths and locations.

use super::error::ApiError;
use crate::occi::{negotiate, MediaType, OcciRequest};
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use uuid::Uuid;

/// A header's value as text. Non-UTF-8 bytes are a 400 naming the header.
pub fn header_text(request: &HttpRequest, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(name) else {
        return Ok(None);
    };
    std::str::from_utf8(value.as_bytes())
        .map(|s| Some(s.to_string()))
        .map_err(|_| ApiError::bad_request(format!("header {name} is not valid UTF-8")))
}

/// The rendering for the answer, from `Accept`.
pub fn response_media(request: &HttpRequest, collection: bool) -> Result<MediaType, ApiError> {
    let accept = header_text(request, "Accept")?;
    negotiate(accept.as_deref(), collection)
        .map_err(|e| ApiError::new(StatusCode::NOT_ACCEPTABLE, e.to_string()))
}

/// Everything OCCI in the request: every `Category`, `X-OCCI-Attribute` and `X-OCCI-Location`
/// header line, plus the body in the form its `Content-Type` names.
pub fn occi_request(request: &HttpRequest, body: &[u8]) -> Result<OcciRequest, ApiError> {
    let mut occi = OcciRequest::default();
    for (name, value) in request.headers() {
        let name = name.as_str();
        if !matches!(name, "category" | "x-occi-attribute" | "x-occi-location") {
            continue;
        }
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| ApiError::bad_request(format!("header {name} is not valid UTF-8")))?;
        occi.add_header(name, text)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(occi);
    }
    let content_type = header_text(request, "Content-Type")?.unwrap_or_default();
    let Some(media) = MediaType::from_content_type(&content_type) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "cannot read a `{content_type}` body; send text/occi (headers), text/plain, \
                 text/uri-list or application/occi+json"
            ),
        ));
    };
    let text = || {
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not valid UTF-8"))
    };
    match media {
        MediaType::OcciJson => occi.add_json_body(body),
        MediaType::UriList => {
            for line in text()?.lines().map(str::trim) {
                if !line.is_empty() && !line.starts_with('#') {
                    occi.locations.push(line.to_string());
                }
            }
            Ok(())
        }
        // text/occi carries its data in headers; a body in that form is read like text/plain.
        MediaType::TextPlain | MediaType::TextOcci => occi.add_text_plain_body(text()?),
    }
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(occi)
}

/// A cluster id from a path segment. Anything but a UUID is simply not a cluster.
pub fn cluster_id(segment: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(segment).map_err(|_| {
        ApiError::not_found(format!(
            "no cluster `{}`: cluster ids are UUIDs like 3f0c5c8e-6a8b-4f57-9d2c-2a1f0e5b7c11",
            segment.chars().take(60).collect::<String>()
        ))
    })
}

/// A cluster id from an X-OCCI-Location or uri-list entry (`/disco/<id>` or a full URL).
pub fn cluster_id_from_location(location: &str) -> Result<Uuid, ApiError> {
    let path = match location.find("://") {
        Some(scheme_end) => {
            let rest = &location[scheme_end + 3..];
            rest.find('/').map_or("", |slash| &rest[slash..])
        }
        None => location,
    };
    let id = path
        .strip_prefix(crate::cluster::attributes::LOCATION)
        .map(|id| id.trim_end_matches('/'))
        .filter(|id| !id.is_empty() && !id.contains('/'));
    match id {
        Some(id) => Uuid::parse_str(id).map_err(|_| {
            ApiError::bad_request(format!(
                "`{}` is not a cluster location like /disco/<uuid>",
                location.chars().take(80).collect::<String>()
            ))
        }),
        None => Err(ApiError::bad_request(format!(
            "`{}` is not a cluster location like /disco/<uuid>",
            location.chars().take(80).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_may_be_paths_or_full_urls() {
        let id = Uuid::new_v4();
        assert_eq!(
            cluster_id_from_location(&format!("/disco/{id}")).unwrap(),
            id
        );
        assert_eq!(
            cluster_id_from_location(&format!("http://h:8888/disco/{id}")).unwrap(),
            id
        );
        assert!(cluster_id_from_location("/disco/").is_err());
        assert!(cluster_id_from_location("/other/x").is_err());
        assert!(cluster_id_from_location("/disco/not-a-uuid").is_err());
    }
}
