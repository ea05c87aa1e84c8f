//! The OCCI data model and its renderings. Pure functions only: header text in, typed values
//! out; typed values in, header lines and bodies out. No HTTP framework types live here.

pub mod media;
pub mod model;
pub mod parse;
pub mod render;

pub use media::{negotiate, MediaType, NotAcceptable};
pub use model::{
    ActionDef, AttrType, AttrValue, AttributeDef, CategoryClass, CategoryRef, KindDef, CORE_SCHEME,
};
pub use parse::{OcciRequest, ParseError};
