//! Metric-math expressions, as far as the generated dashboards and alarms
//! use them: numbers, query ids, `+ - * /`, unary minus, parentheses and
//! `FILL(series, number)`.
//!
//! Semantics, from "Metric math syntax and functions" (Amazon CloudWatch
//! User Guide,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>):
//! - an arithmetic operator between a time series and a scalar applies to
//!   every datapoint;
//! - between two time series it applies to the datapoints whose
//!   timestamps both series have; a timestamp only one has gives nothing,
//!   which is why the generator wraps sparse series in `FILL`;
//! - `FILL(m, value)` gives every period of the query's range a datapoint,
//!   `value` where `m` has none;
//! - a result that is not a real number (a division by zero) is not a
//!   datapoint.
//!
//! Anything else (other functions, `REPEAT`/`LINEAR` fills) is refused with
//! a typed error rather than guessed at.

use std::collections::HashMap;

use super::query::{Series, Window};

/// Why an expression cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    /// Not an expression of the supported grammar.
    #[error("cannot parse {expression:?} at {position}: {reason}")]
    Parse {
        /// The expression.
        expression: String,
        /// Byte offset of the problem.
        position: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// A function the preview does not evaluate.
    #[error("unsupported function {0}")]
    Function(String),
    /// An id that names no query.
    #[error("unknown id {0}")]
    UnknownId(String),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Number(f64),
    /// Another query's result, by id.
    Id(String),
    /// `-e`.
    Neg(Box<Expr>),
    /// `a op b`, op one of `+ - * /`.
    Binary(char, Box<Expr>, Box<Expr>),
    /// `FILL(e, value)`.
    Fill(Box<Expr>, f64),
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum MathValue {
    /// A number.
    Scalar(f64),
    /// A time series.
    Series(Series),
}

impl Expr {
    /// Parses `expression`.
    pub fn parse(expression: &str) -> Result<Expr, MathError> {
        let mut parser = Parser {
            text: expression,
            pos: 0,
        };
        let expr = parser.sum()?;
        parser.skip_space();
        if parser.pos != expression.len() {
            return Err(parser.error("unexpected input"));
        }
        Ok(expr)
    }

    /// Evaluates over `window` with the other queries' `results`.
    pub fn eval(
        &self,
        results: &HashMap<String, Series>,
        window: &Window,
    ) -> Result<MathValue, MathError> {
        Ok(match self {
            Expr::Number(n) => MathValue::Scalar(*n),
            Expr::Id(id) => MathValue::Series(
                results
                    .get(id)
                    .cloned()
                    .ok_or_else(|| MathError::UnknownId(id.clone()))?,
            ),
            Expr::Neg(e) => apply('*', MathValue::Scalar(-1.0), e.eval(results, window)?),
            Expr::Binary(op, a, b) => {
                apply(*op, a.eval(results, window)?, b.eval(results, window)?)
            }
            Expr::Fill(e, value) => match e.eval(results, window)? {
                MathValue::Scalar(s) => MathValue::Scalar(s),
                MathValue::Series(series) => MathValue::Series(
                    window
                        .periods()
                        .map(|t| (t, series.get(&t).copied().unwrap_or(*value)))
                        .collect(),
                ),
            },
        })
    }
}

fn apply(op: char, a: MathValue, b: MathValue) -> MathValue {
    let f = |x: f64, y: f64| match op {
        '+' => x + y,
        '-' => x - y,
        '*' => x * y,
        _ => x / y,
    };
    let real = |series: Series| series.into_iter().filter(|(_, v)| v.is_finite()).collect();
    match (a, b) {
        (MathValue::Scalar(x), MathValue::Scalar(y)) => MathValue::Scalar(f(x, y)),
        (MathValue::Series(s), MathValue::Scalar(y)) => {
            MathValue::Series(real(s.into_iter().map(|(t, x)| (t, f(x, y))).collect()))
        }
        (MathValue::Scalar(x), MathValue::Series(s)) => {
            MathValue::Series(real(s.into_iter().map(|(t, y)| (t, f(x, y))).collect()))
        }
        (MathValue::Series(a), MathValue::Series(b)) => MathValue::Series(real(
            a.into_iter()
                .filter_map(|(t, x)| Some((t, f(x, *b.get(&t)?))))
                .collect(),
        )),
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> MathError {
        MathError::Parse {
            expression: self.text.to_owned(),
            position: self.pos,
            reason,
        }
    }

    fn skip_space(&mut self) {
        while self.rest().starts_with(' ') {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// sum := product (('+' | '-') product)*
    fn sum(&mut self) -> Result<Expr, MathError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat('+') {
                '+'
            } else if self.eat('-') {
                '-'
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    /// product := unary (('*' | '/') unary)*
    fn product(&mut self) -> Result<Expr, MathError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat('*') {
                '*'
            } else if self.eat('/') {
                '/'
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    /// unary := '-' unary | atom
    fn unary(&mut self) -> Result<Expr, MathError> {
        if self.eat('-') {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    /// atom := number | id | NAME '(' args ')' | '(' sum ')'
    fn atom(&mut self) -> Result<Expr, MathError> {
        self.skip_space();
        if self.eat('(') {
            let inner = self.sum()?;
            if !self.eat(')') {
                return Err(self.error("expected )"));
            }
            return Ok(inner);
        }
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected a number, an id or a function"));
        }
        let word = rest[..len].to_owned();
        if word.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            let number = word
                .parse::<f64>()
                .map_err(|_| self.error("not a number"))?;
            self.pos += len;
            return Ok(Expr::Number(number));
        }
        self.pos += len;
        if !self.eat('(') {
            return Ok(Expr::Id(word));
        }
        if word != "FILL" {
            return Err(MathError::Function(word));
        }
        let series = self.sum()?;
        if !self.eat(',') {
            return Err(self.error("expected , in FILL"));
        }
        let value = match self.unary()? {
            Expr::Number(n) => n,
            Expr::Neg(inner) if matches!(*inner, Expr::Number(_)) => match *inner {
                Expr::Number(n) => -n,
                _ => unreachable!("matched a number"),
            },
            Expr::Id(mode) => return Err(MathError::Function(format!("FILL(…, {mode})"))),
            _ => return Err(self.error("FILL takes a number")),
        };
        if !self.eat(')') {
            return Err(self.error("expected ) after FILL"));
        }
        Ok(Expr::Fill(Box::new(series), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> Window {
        Window {
            start_ms: 0,
            end_ms: 240_000,
            period_s: 60,
        }
    }

    fn results() -> HashMap<String, Series> {
        let errors: Series = [(60_000, 2.0)].into();
        let calls: Series = [(0, 10.0), (60_000, 4.0), (120_000, 0.0)].into();
        [("e0".to_owned(), errors), ("n0".to_owned(), calls)].into()
    }

    fn eval(text: &str) -> Result<MathValue, MathError> {
        Expr::parse(text)?.eval(&results(), &window())
    }

    fn series(text: &str) -> Vec<(i64, f64)> {
        match eval(text).unwrap() {
            MathValue::Series(s) => s.into_iter().collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_generated_error_rate_expression() {
        // No errors at 0 (filled), a division by zero at 120 s (no
        // datapoint), nothing at all at 180 s.
        assert_eq!(series("100 * FILL(e0, 0) / n0"), [(0, 0.0), (60_000, 50.0)]);
    }

    #[test]
    fn two_series_meet_only_where_both_have_data() {
        assert_eq!(series("e0 + n0"), [(60_000, 6.0)]);
        assert_eq!(
            series("FILL(e0, 1) + n0"),
            [(0, 11.0), (60_000, 6.0), (120_000, 1.0)]
        );
        assert_eq!(
            series("FILL(e0, -1)"),
            [(0, -1.0), (60_000, 2.0), (120_000, -1.0), (180_000, -1.0)]
        );
    }

    #[test]
    fn precedence_parentheses_and_unary_minus() {
        assert_eq!(eval("1 + 2 * 3").unwrap(), MathValue::Scalar(7.0));
        assert_eq!(eval("(1 + 2) * 3").unwrap(), MathValue::Scalar(9.0));
        assert_eq!(eval("-2 - -3").unwrap(), MathValue::Scalar(1.0));
        assert_eq!(eval("10 / 4 / 5").unwrap(), MathValue::Scalar(0.5));
        assert_eq!(
            series("-n0 + 1"),
            [(0, -9.0), (60_000, -3.0), (120_000, 1.0)]
        );
    }

    #[test]
    fn what_is_not_supported_is_a_typed_error() {
        assert_eq!(eval("x1 + 1"), Err(MathError::UnknownId("x1".into())));
        assert_eq!(
            eval("ANOMALY_DETECTION_BAND(n0)"),
            Err(MathError::Function("ANOMALY_DETECTION_BAND".into()))
        );
        assert!(matches!(
            eval("FILL(n0, REPEAT)"),
            Err(MathError::Function(_))
        ));
        for bad in ["", "1 +", "(1", "FILL(n0 0)", "1 2", "n0 %"] {
            assert!(matches!(eval(bad), Err(MathError::Parse { .. })), "{bad:?}");
        }
    }
}
