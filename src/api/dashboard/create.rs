//! `GET /dashboard/new`: the create form, generated from the catalog. `POST` there either
//! shows the plan (what `disco plan` prints for the same attributes) or creates the cluster
//! through the API's own create (`admit`), with the API's messages next to their fields.

use super::cluster::session_context;
use super::form::{attributes, CreateForm, Posted};
use super::page::{render, see_other, PageError};
use super::session::random_token;
use super::signed_in::SignedIn;
use super::{Config, State};
use crate::api::clusters::create::admit;
use crate::auth::keystone::Freshness;
use crate::cluster::ClusterSpec;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The form's idempotency token, if it is one the form could have carried.
fn idempotency(posted: &Posted) -> Option<&str> {
    posted
        .get("idempotency")
        .filter(|k| !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_graphic()))
}

/// Renders the form, with the plan or errors when there are.
fn form_page(
    signed_in: &SignedIn,
    state: &State,
    config: &Config,
    posted: &Posted,
    status: StatusCode,
    error: Option<&str>,
    plan: Option<String>,
) -> Result<HttpResponse, PageError> {
    let mut form = CreateForm::build(
        &state.catalog,
        posted,
        state.limits.max_slave_count,
        config.openstack,
    );
    if let Some(message) = error {
        form.show_error(message);
    }
    let mut context = session_context(signed_in);
    context.insert("form", &form);
    context.insert("plan", &plan);
    // A create is retried safely: the same form sent twice makes one cluster.
    let idempotency = idempotency(posted).map_or_else(random_token, str::to_string);
    context.insert("idempotency", &idempotency);
    render(status, "new.html", &context)
}

pub async fn form(
    signed_in: SignedIn,
    state: State,
    config: Config,
) -> Result<HttpResponse, PageError> {
    let posted = Posted(vec![("framework".into(), "shell".into())]);
    form_page(
        &signed_in,
        &state,
        &config,
        &posted,
        StatusCode::OK,
        None,
        None,
    )
}

pub async fn create(
    request: HttpRequest,
    signed_in: SignedIn,
    state: State,
    config: Config,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let posted = Posted(body.into_inner());
    signed_in.check_csrf(posted.get("csrf"))?;
    let refused = |status: StatusCode, message: &str| {
        form_page(
            &signed_in,
            &state,
            &config,
            &posted,
            status,
            Some(message),
            None,
        )
    };
    let attributes = attributes(&posted);
    if posted.get("do") == Some("plan") {
        let settings = config.settings.clone();
        let shown = attributes.clone();
        let plan = web::block(move || {
            crate::preview::plan_stack(&settings, &shown)
                .map(|document| crate::preview::render_readable(&document))
        })
        .await?;
        return match plan {
            Ok(plan) => form_page(
                &signed_in,
                &state,
                &config,
                &posted,
                StatusCode::OK,
                None,
                Some(plan),
            ),
            Err(message) => refused(StatusCode::BAD_REQUEST, &message),
        };
    }
    let caller = match state
        .authenticator
        .session_caller(&signed_in.session, &request, Freshness::Fresh)
        .await
    {
        Ok(caller) => caller,
        Err(e) => return refused(e.status, &e.message),
    };
    let spec = match ClusterSpec::parse(&attributes, &state.catalog, state.limits) {
        Ok(spec) => spec,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let key = idempotency(&posted).map(|k| format!("dashboard-{k}"));
    match admit(&state, &caller, spec, key).await {
        Ok(id) => Ok(see_other(&format!("/dashboard/clusters/{id}"))),
        Err(e) => refused(e.status, &e.message),
    }
}
