//! The HTTP status a handler answered with: the `statusCode` field API
//! Gateway and ALBs read from a response, found in the response as it
//! serializes, whatever its type (`lambda_http`'s response, the
//! `aws_lambda_events` types, a `serde_json::Value`, the function's own).
//!
//! Only the top level is looked at, and only the status is serialized: a
//! field or entry of any other name is skipped without being visited, so
//! the body is never copied.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct};

/// The field a status is in.
const STATUS_CODE: &str = "statusCode";

/// The status `response` answers with, if it has one from 100 to 599.
pub(crate) fn status_code<R: Serialize + ?Sized>(response: &R) -> Option<u16> {
    response.serialize(Top).ok().flatten()
}

/// Why a value gave no status; never shown.
#[derive(Debug)]
struct NoStatus;

impl fmt::Display for NoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no status code")
    }
}

impl std::error::Error for NoStatus {}

impl ser::Error for NoStatus {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NoStatus
    }
}

/// Serializes nothing but what the methods below accept.
macro_rules! reject {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, NoStatus> {
            Err(NoStatus)
        })*
    };
}

/// The sequences, tuples and enum variants no probe accepts.
macro_rules! reject_compound {
    () => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, NoStatus> {
            Err(NoStatus)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NoStatus> {
            Err(NoStatus)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NoStatus> {
            Err(NoStatus)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, NoStatus> {
            Err(NoStatus)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, NoStatus> {
            Err(NoStatus)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, NoStatus> {
            Err(NoStatus)
        }
    };
}

/// The response itself: a struct or a map, holding `statusCode`.
struct Top;

/// The struct or map being looked through.
struct Fields {
    status: Option<u16>,
    /// The map key just serialized was `statusCode`.
    at_status: bool,
}

impl ser::Serializer for Top {
    type Ok = Option<u16>;
    type Error = NoStatus;
    type SerializeSeq = Impossible<Option<u16>, NoStatus>;
    type SerializeTuple = Impossible<Option<u16>, NoStatus>;
    type SerializeTupleStruct = Impossible<Option<u16>, NoStatus>;
    type SerializeTupleVariant = Impossible<Option<u16>, NoStatus>;
    type SerializeMap = Fields;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Impossible<Option<u16>, NoStatus>;

    reject!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, NoStatus> {
        value.serialize(Top)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, NoStatus> {
        value.serialize(Top)
    }
    reject_compound!();
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NoStatus> {
        Ok(Fields {
            status: None,
            at_status: false,
        })
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NoStatus> {
        Ok(Fields {
            status: None,
            at_status: false,
        })
    }
}

impl SerializeStruct for Fields {
    type Ok = Option<u16>;
    type Error = NoStatus;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NoStatus> {
        if key == STATUS_CODE {
            self.status = value.serialize(Number).ok();
        }
        Ok(())
    }
    fn end(self) -> Result<Option<u16>, NoStatus> {
        Ok(self.status)
    }
}

impl SerializeMap for Fields {
    type Ok = Option<u16>;
    type Error = NoStatus;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NoStatus> {
        self.at_status = key.serialize(Key).is_ok();
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NoStatus> {
        if std::mem::take(&mut self.at_status) {
            self.status = value.serialize(Number).ok();
        }
        Ok(())
    }
    fn end(self) -> Result<Option<u16>, NoStatus> {
        Ok(self.status)
    }
}

/// A map key: `Ok` when it is `statusCode`.
struct Key;

/// A status: an integer from 100 to 599.
struct Number;

/// The serializer methods of a probe that accepts one kind of scalar.
macro_rules! scalar_probe {
    ($probe:ident, $ok:ty, { $($accepted:item)* }, reject: [$($rejected:ident($($arg:ty),*)),* $(,)?]) => {
        impl ser::Serializer for $probe {
            type Ok = $ok;
            type Error = NoStatus;
            type SerializeSeq = Impossible<$ok, NoStatus>;
            type SerializeTuple = Impossible<$ok, NoStatus>;
            type SerializeTupleStruct = Impossible<$ok, NoStatus>;
            type SerializeTupleVariant = Impossible<$ok, NoStatus>;
            type SerializeMap = Impossible<$ok, NoStatus>;
            type SerializeStruct = Impossible<$ok, NoStatus>;
            type SerializeStructVariant = Impossible<$ok, NoStatus>;

            $($accepted)*

            reject!($($rejected($($arg),*)),*);

            fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<$ok, NoStatus> {
                value.serialize(self)
            }
            fn serialize_newtype_struct<T: Serialize + ?Sized>(
                self,
                _: &'static str,
                value: &T,
            ) -> Result<$ok, NoStatus> {
                value.serialize(self)
            }
            reject_compound!();
            fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NoStatus> {
                Err(NoStatus)
            }
            fn serialize_struct(
                self,
                _: &'static str,
                _: usize,
            ) -> Result<Self::SerializeStruct, NoStatus> {
                Err(NoStatus)
            }
        }
    };
}

scalar_probe!(Key, (), {
    fn serialize_str(self, key: &str) -> Result<(), NoStatus> {
        if key == STATUS_CODE { Ok(()) } else { Err(NoStatus) }
    }
}, reject: [
    serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
    serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
    serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
    serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
    serialize_unit_struct(&'static str),
    serialize_unit_variant(&'static str, u32, &'static str),
]);

scalar_probe!(Number, u16, {
    fn serialize_i64(self, code: i64) -> Result<u16, NoStatus> {
        u16::try_from(code)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or(NoStatus)
    }
    fn serialize_u64(self, code: u64) -> Result<u16, NoStatus> {
        self.serialize_i64(i64::try_from(code).map_err(|_| NoStatus)?)
    }
    fn serialize_i32(self, code: i32) -> Result<u16, NoStatus> {
        self.serialize_i64(code.into())
    }
    fn serialize_u32(self, code: u32) -> Result<u16, NoStatus> {
        self.serialize_i64(code.into())
    }
    fn serialize_i16(self, code: i16) -> Result<u16, NoStatus> {
        self.serialize_i64(code.into())
    }
    fn serialize_u16(self, code: u16) -> Result<u16, NoStatus> {
        self.serialize_i64(code.into())
    }
}, reject: [
    serialize_bool(bool), serialize_i8(i8), serialize_u8(u8),
    serialize_f32(f32), serialize_f64(f64), serialize_char(char), serialize_str(&str),
    serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
    serialize_unit_struct(&'static str),
    serialize_unit_variant(&'static str, u32, &'static str),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
    use serde_json::json;

    #[test]
    fn the_status_of_typed_and_untyped_responses() {
        let mut v2 = ApiGatewayV2httpResponse::default();
        v2.status_code = 404;
        v2.body = Some("not found".into());
        assert_eq!(status_code(&v2), Some(404));
        let mut v1 = ApiGatewayProxyResponse::default();
        v1.status_code = 503;
        assert_eq!(status_code(&v1), Some(503));
        assert_eq!(
            status_code(&json!({"body": "x", "statusCode": 201})),
            Some(201)
        );
        assert_eq!(status_code(&Some(json!({"statusCode": 200}))), Some(200));
    }

    #[test]
    fn anything_else_has_none() {
        assert_eq!(status_code(&json!({"statusCode": "200"})), None);
        assert_eq!(status_code(&json!({"statusCode": 99_999})), None);
        assert_eq!(status_code(&json!({"status": 200})), None);
        assert_eq!(status_code(&json!([{"statusCode": 200}])), None);
        assert_eq!(status_code(&"text"), None);
        assert_eq!(status_code(&42_usize), None);
        assert_eq!(status_code(&()), None);
    }
}
