//! `GET /dashboard/static/<file>`: the style sheet, the script and the icon, embedded in the
//! binary.

use super::page::PageError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

/// Name, media type and content of each asset.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_str!("../../../templates/dashboard/static/dashboard.css"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../templates/dashboard/static/dashboard.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../../templates/dashboard/static/favicon.svg"),
    ),
];

pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let Some((_, media, body)) = ASSETS.iter().find(|(name, _, _)| *name == path.as_str()) else {
        return Err(PageError::new(StatusCode::NOT_FOUND, "No such file."));
    };
    Ok(HttpResponse::Ok()
        .content_type(*media)
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(*body))
}
