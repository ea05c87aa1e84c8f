//! The web dashboard at `/dashboard/`: pages rendered on the server from embedded templates,
//! a little script for live updates (the pages work without it), and sign-in per auth mode
//! with server-side sessions. Every change goes through the same code as the OCCI API.
//! One file per page or operation.

pub mod assets;
pub mod cluster;
pub mod create;
pub mod delete;
pub mod feed;
pub mod form;
pub mod key;
pub mod list;
pub mod page;
pub mod root;
pub mod secrets;
pub mod session;
pub mod sign_in;
pub mod signed_in;
pub mod views;

use crate::api::AppState;
use actix_web::{middleware, web, HttpResponse};
use page::SECURITY_HEADERS;

/// How sign-in works, from `auth.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInKind {
    /// Pick a tenant name.
    Tenant,
    /// User and password from the users file.
    Static,
    /// User, password and project, checked by Keystone.
    Keystone,
}

/// What the dashboard knows of the configuration.
pub struct DashboardConfig {
    pub sign_in: SignInKind,
    /// The openstack backend is on: the create form asks for images, flavors and networks.
    pub openstack: bool,
    /// For "show plan" (what `disco plan` prints).
    pub settings: crate::config::Settings,
}

/// The user's state and config, as the handlers take them.
pub type State = web::Data<AppState>;
pub type Config = web::Data<DashboardConfig>;

/// Registers `/dashboard/...` (every answer with the security headers).
pub fn configure(config: &mut web::ServiceConfig) {
    let mut headers = middleware::DefaultHeaders::new();
    for header in SECURITY_HEADERS {
        headers = headers.add(header);
    }
    config.service(
        web::resource("/dashboard")
            .wrap(headers.clone())
            .to(|| async { page::see_other("/dashboard/") }),
    );
    config.service(
        web::scope("/dashboard")
            .wrap(headers)
            .route("/", web::get().to(list::list))
            .route("/sign-in", web::get().to(sign_in::form))
            .route("/sign-in", web::post().to(sign_in::sign_in))
            .route("/sign-out", web::post().to(sign_in::sign_out))
            .route("/feed", web::get().to(feed::feed))
            .route("/new", web::get().to(create::form))
            .route("/new", web::post().to(create::create))
            .route("/clusters/{id}", web::get().to(cluster::page))
            .route("/clusters/{id}", web::post().to(cluster::act))
            .route("/clusters/{id}/delete", web::get().to(delete::confirm))
            .route("/clusters/{id}/delete", web::post().to(delete::delete))
            .route("/clusters/{id}/key", web::get().to(key::download))
            .route("/clusters/{id}/secrets", web::get().to(secrets::reveal))
            .route("/static/{file}", web::get().to(assets::asset))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(page::PageError::new(
                    actix_web::http::StatusCode::NOT_FOUND,
                    "There is no such page. The dashboard starts at /dashboard/.",
                ))
            })),
    );
}
