//! `GET /`: a browser is sent to the dashboard; OCCI clients get what they always got (`404`
//! pointing at `/-/` and `/disco/`).

use crate::api::error::ApiError;
use actix_web::{HttpRequest, HttpResponse};

/// Whether an `Accept` value prefers HTML: `text/html` (or XHTML) is named with a weight
/// above zero and at least that of anything else it names explicitly (browsers send
/// `text/html,…,*/*;q=0.8`; curl sends `*/*`).
pub fn prefers_html(accept: &str) -> bool {
    let mut html = 0.0f32;
    let mut other = 0.0f32;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let weight = pieces
            .filter_map(|p| p.trim().strip_prefix("q=").map(str::trim))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(weight),
            "*/*" | "" => {}
            _ => other = other.max(weight),
        }
    }
    html > 0.0 && html >= other
}

pub async fn root(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let accept = request
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if prefers_html(accept) {
        return Ok(super::page::see_other("/dashboard/"));
    }
    crate::api::not_found().await
}

#[cfg(test)]
mod tests {
    use super::prefers_html;

    #[test]
    fn browsers_prefer_html_and_occi_clients_do_not() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,\
                        image/avif,image/webp,image/apng,*/*;q=0.8";
        assert!(prefers_html(chromium));
        assert!(prefers_html("text/html"));
        assert!(!prefers_html("*/*"));
        assert!(!prefers_html(""));
        assert!(!prefers_html("text/plain"));
        assert!(!prefers_html("text/occi, text/html;q=0.5"));
        assert!(!prefers_html("text/html;q=0"));
    }
}
