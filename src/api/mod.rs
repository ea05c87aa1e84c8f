//! The OCCI HTTP interface (actix-web). Handlers parse at the edge, write desired state and
//! return; they never wait on a backend.

pub mod caller;
pub mod clusters;
pub mod dashboard;
pub mod error;
pub mod gateway;
pub mod query;
pub mod request;

use crate::backend::Backend;
use crate::cluster::SpecLimits;
use crate::frameworks::Catalog;
use crate::occi::render::Rendered;
use crate::occi::KindDef;
use crate::store::capacity::Capacity;
use crate::store::Store;
use actix_web::{web, HttpResponse};
use caller::Authenticator;
use error::ApiError;
use std::sync::Arc;
use tokio::sync::Notify;

/// What every handler shares.
pub struct AppState {
    pub store: Arc<Store>,
    pub catalog: Arc<Catalog>,
    pub backend: Arc<dyn Backend>,
    pub authenticator: Authenticator,
    pub kind: KindDef,
    pub core_kinds: Vec<KindDef>,
    pub limits: SpecLimits,
    /// Clusters and nodes, per tenant and for everyone.
    pub capacity: Capacity,
    pub reconciler: Arc<Notify>,
    /// How long a deleted cluster's history stays readable.
    pub keep_deleted_secs: u64,
    /// Renderings of `GET /disco/<id>` kept until the cluster changes.
    pub shown: clusters::shown::Shown,
}

/// Turns a rendering into a response with the given status.
pub fn respond(status: actix_web::http::StatusCode, rendered: Rendered) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    for (name, value) in rendered.headers {
        response.append_header((name, value));
    }
    response
        .content_type(rendered.content_type)
        .body(rendered.body)
}

/// `405` with the methods the location has, in `Allow`.
fn method_not_allowed(
    allow: &'static str,
) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        let error = ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            format!("method not allowed here; this location takes {allow}"),
        );
        let mut response = actix_web::ResponseError::error_response(&error);
        response.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        std::future::ready(response)
    }
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "no such location: the query interface is /-/ and clusters live under /disco/",
    ))
}

/// Registers every route.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource(["/-/", "/.well-known/org/ogf/occi/-/"])
                .route(web::get().to(query::query_interface))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/disco/")
                .route(web::post().to(clusters::create::create))
                .route(web::get().to(clusters::list::list))
                .route(web::delete().to(clusters::delete::delete_selected))
                .default_service(web::to(method_not_allowed("GET, POST, DELETE"))),
        )
        .service(
            web::resource("/disco/{id}")
                .route(web::get().to(clusters::show::show))
                .route(web::delete().to(clusters::delete::delete))
                .route(web::post().to(clusters::update::post))
                .route(web::put().to(clusters::update::put))
                .default_service(web::to(method_not_allowed("GET, POST, PUT, DELETE"))),
        )
        .configure(gateway::configure)
        .service(
            web::resource("/disco/{id}/events")
                .route(web::get().to(clusters::events::events))
                .default_service(web::to(method_not_allowed("GET"))),
        )
        .service(
            web::resource("/")
                .route(web::get().to(dashboard::root::root))
                .default_service(web::to(not_found)),
        )
        .configure(dashboard::configure)
        .default_service(web::to(not_found));
}
