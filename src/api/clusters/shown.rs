//! Renderings of `GET /disco/<id>`, kept until the cluster changes. Clients poll a building
//! cluster many times a second; the answer changes only when the store records a change, so
//! each rendering is kept with the cluster's version ([`crate::store::Store::version`], read
//! before the cluster was) and served while the version is the same. It is kept per
//! rendering and per address the client used (the rendering holds absolute URLs), for the
//! tenant it was rendered for only.

use crate::occi::render::Rendered;
use crate::occi::MediaType;
use crate::store::Version;
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Renderings kept at most (a few KiB each): the clusters being polled, not all of them.
const CAPACITY: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    id: Uuid,
    media: MediaType,
    /// Scheme and host the client addressed.
    origin: String,
}

/// A `200` answer ready to send again.
#[derive(Clone)]
struct Answer {
    version: Version,
    tenant: String,
    content_type: HeaderValue,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Answer {
    fn of(version: Version, tenant: &str, rendered: &Rendered) -> Option<Answer> {
        let headers = rendered
            .headers
            .iter()
            .map(|(name, value)| {
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Answer {
            version,
            tenant: tenant.to_string(),
            content_type: HeaderValue::from_static(rendered.content_type),
            headers,
            body: Bytes::from(rendered.body.clone()),
        })
    }

    fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::with_body(StatusCode::OK, self.body.clone());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, self.content_type.clone());
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        response.map_into_boxed_body()
    }
}

/// The kept renderings.
#[derive(Default)]
pub struct Shown {
    answers: Mutex<HashMap<Key, Answer>>,
}

impl Shown {
    /// The kept answer, if it was rendered at `version` for `tenant`.
    pub fn get(
        &self,
        id: Uuid,
        media: MediaType,
        origin: &str,
        tenant: &str,
        version: Version,
    ) -> Option<HttpResponse> {
        let key = Key {
            id,
            media,
            origin: origin.to_string(),
        };
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers
            .get(&key)
            .filter(|a| a.version == version && a.tenant == tenant)
            .map(Answer::response)
    }

    /// Keeps a rendering made from data read after `version` was.
    pub fn keep(
        &self,
        id: Uuid,
        media: MediaType,
        origin: &str,
        tenant: &str,
        version: Version,
        rendered: &Rendered,
    ) {
        let Some(answer) = Answer::of(version, tenant, rendered) else {
            return;
        };
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.len() >= CAPACITY {
            let stale: Vec<Key> = answers.keys().take(CAPACITY / 4).cloned().collect();
            for key in stale {
                answers.remove(&key);
            }
        }
        answers.insert(
            Key {
                id,
                media,
                origin: origin.to_string(),
            },
            answer,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(body: &str) -> Rendered {
        Rendered {
            content_type: "text/plain",
            headers: vec![("x-occi-location", "/disco/x".to_string())],
            body: body.to_string(),
        }
    }

    #[test]
    fn an_answer_is_served_only_at_its_version_and_to_its_tenant() {
        let shown = Shown::default();
        let id = Uuid::new_v4();
        let origin = "http://127.0.0.1:8888";
        shown.keep(
            id,
            MediaType::TextPlain,
            origin,
            "a",
            (0, 1),
            &rendered("one"),
        );
        let served = |media, origin, tenant, version| {
            shown.get(id, media, origin, tenant, version).is_some()
        };
        assert!(served(MediaType::TextPlain, origin, "a", (0, 1)));
        assert!(!served(MediaType::TextPlain, origin, "a", (0, 2)));
        assert!(!served(MediaType::TextPlain, origin, "b", (0, 1)));
        assert!(!served(MediaType::OcciJson, origin, "a", (0, 1)));
        assert!(!served(MediaType::TextPlain, "http://other", "a", (0, 1)));
    }

    #[test]
    fn it_keeps_a_bounded_number_of_answers() {
        let shown = Shown::default();
        for _ in 0..CAPACITY * 2 {
            shown.keep(
                Uuid::new_v4(),
                MediaType::TextPlain,
                "o",
                "t",
                (0, 0),
                &rendered("x"),
            );
        }
        assert!(shown.answers.lock().expect("lock").len() <= CAPACITY);
    }
}
