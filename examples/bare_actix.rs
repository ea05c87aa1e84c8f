//! The baseline for bench/run.sh: a bare actix-web handler on the same runtime settings as
//! disco, answering a fixed body. Usage: `bare_actix 127.0.0.1:18889`.

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18889".to_string());
    HttpServer::new(|| {
        App::new().route(
            "/disco/{id}",
            web::get().to(|| async { HttpResponse::Ok().content_type("text/plain").body("OK\n") }),
        )
    })
    .bind(address)?
    .run()
    .await
}
