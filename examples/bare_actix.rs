//! The baseline for bench/run.sh: a bare actix-web handler on the same runtime settings as
//! disco, answering a fixed body. Usage: `bare_actix 127.0.0.1:18889 [workers]`.

use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:18889".to_string());
    // Optional worker count; 0 or absent keeps actix's default (one per physical core).
    let workers: usize = match args.next() {
        None => 0,
        Some(w) => w.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("workers must be a whole number, not `{w}`"),
            )
        })?,
    };
    let server = HttpServer::new(|| {
        App::new().route(
            "/disco/{id}",
            web::get().to(|| async { HttpResponse::Ok().content_type("text/plain").body("OK\n") }),
        )
    });
    let server = if workers > 0 {
        server.workers(workers)
    } else {
        server
    };
    server.bind(address)?.run().await
}
