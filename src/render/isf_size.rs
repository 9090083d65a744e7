//! ISF pass sizes: a pass's `WIDTH` and `HEIGHT` are expressions such as `floor($WIDTH/4.0)`
//! or `max(8.0, floor($WIDTH*$buffQuality))`, over the output's size and the shader's inputs.
//! ISF hosts evaluate them with a JavaScript-like evaluator; this is a small one of our own
//! (numbers, `$names`, `+ - * / %`, parentheses and a few math functions), never an `eval`,
//! with its depth bounded, so no header can do more than compute a number.

/// What went wrong, said for the shader's author.
pub type SizeError = String;

/// Deepest nesting of parentheses and calls: a header cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// Evaluates `expr`, looking `$name`s up with `var` (`WIDTH`, `HEIGHT`, the inputs).
pub fn eval(expr: &str, var: &dyn Fn(&str) -> Option<f64>) -> Result<f64, SizeError> {
    let mut p = Parser {
        s: expr.as_bytes(),
        at: 0,
        var,
        depth: 0,
    };
    let v = p.sum()?;
    p.space();
    if p.at != p.s.len() {
        return Err(format!(
            "`{expr}`: unexpected `{}` at character {}",
            &expr[p.at..],
            p.at + 1
        ));
    }
    Ok(v)
}

/// A pass's size in pixels from its expression (or the output's `full`, when it has none or
/// it says nothing usable): at least 1, at most twice the output's (and 8192): a header
/// asking for a gigabyte of buffers gets what a real look needs.
pub fn pixels(
    expr: Option<&str>,
    full: u32,
    var: &dyn Fn(&str) -> Option<f64>,
) -> Result<u32, SizeError> {
    let Some(expr) = expr else {
        return Ok(full);
    };
    let v = eval(expr, var)?;
    if !v.is_finite() {
        return Ok(full);
    }
    let most = (2.0 * f64::from(full)).clamp(1.0, 8192.0);
    Ok(v.floor().clamp(1.0, most) as u32)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    var: &'a dyn Fn(&str) -> Option<f64>,
    depth: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.s.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.space();
        self.s.get(self.at).copied()
    }

    fn deeper(&mut self) -> Result<(), SizeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    fn sum(&mut self) -> Result<f64, SizeError> {
        let mut v = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.at += 1;
            let r = self.product()?;
            v = if op == b'+' { v + r } else { v - r };
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<f64, SizeError> {
        let mut v = self.unary()?;
        while let Some(op @ (b'*' | b'/' | b'%')) = self.peek() {
            self.at += 1;
            let r = self.unary()?;
            v = match op {
                b'*' => v * r,
                b'/' => v / r,
                _ => v % r,
            };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<f64, SizeError> {
        match self.peek() {
            Some(b'-') => {
                self.at += 1;
                self.deeper()?;
                let v = -self.unary()?;
                self.depth -= 1;
                Ok(v)
            }
            Some(b'+') => {
                self.at += 1;
                self.unary()
            }
            _ => self.atom(),
        }
    }

    fn word(&mut self) -> &str {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at]).unwrap_or("")
    }

    fn atom(&mut self) -> Result<f64, SizeError> {
        match self.peek() {
            Some(b'(') => {
                self.at += 1;
                self.deeper()?;
                let v = self.sum()?;
                self.depth -= 1;
                self.expect(b')')?;
                Ok(v)
            }
            Some(b'$') => {
                self.at += 1;
                let name = self.word().to_string();
                (self.var)(&name).ok_or_else(|| format!("unknown `${name}`"))
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => {
                let start = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
                {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
                text.parse()
                    .map_err(|_| format!("`{text}` is not a number"))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let name = self.word().to_string();
                self.expect(b'(')?;
                self.deeper()?;
                let mut args = vec![self.sum()?];
                while self.peek() == Some(b',') {
                    self.at += 1;
                    args.push(self.sum()?);
                }
                self.depth -= 1;
                self.expect(b')')?;
                call(&name, &args)
            }
            Some(c) => Err(format!("unexpected `{}`", c as char)),
            None => Err("the expression ends too soon".into()),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), SizeError> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!(
                "`{}` expected at character {}",
                c as char,
                self.at + 1
            ))
        }
    }
}

fn call(name: &str, a: &[f64]) -> Result<f64, SizeError> {
    let one = |f: fn(f64) -> f64| match a {
        [x] => Ok(f(*x)),
        _ => Err(format!("{name} takes one value")),
    };
    match name {
        "floor" => one(f64::floor),
        "ceil" => one(f64::ceil),
        "round" => one(f64::round),
        "abs" => one(f64::abs),
        "sqrt" => one(f64::sqrt),
        "exp" => one(f64::exp),
        "log" => one(f64::ln),
        "sin" => one(f64::sin),
        "cos" => one(f64::cos),
        "min" if !a.is_empty() => Ok(a.iter().copied().fold(f64::INFINITY, f64::min)),
        "max" if !a.is_empty() => Ok(a.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        "pow" => match a {
            [x, y] => Ok(x.powf(*y)),
            _ => Err("pow takes two values".into()),
        },
        "clamp" => match a {
            [x, lo, hi] => Ok(x.max(*lo).min(*hi)),
            _ => Err("clamp takes three values".into()),
        },
        _ => Err(format!("unknown function `{name}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<f64> {
        match name {
            "WIDTH" => Some(1280.0),
            "HEIGHT" => Some(720.0),
            "buffQuality" => Some(0.5),
            _ => None,
        }
    }

    #[test]
    fn the_size_expressions_of_the_public_library_evaluate_to_their_pixels() {
        let px = |e: &str| pixels(Some(e), 1280, &vars).unwrap();
        assert_eq!(px("floor($WIDTH/4.0)"), 320);
        assert_eq!(px("$HEIGHT/3.0"), 240);
        assert_eq!(px("max(8.0,floor($WIDTH*$buffQuality))"), 640);
        assert_eq!(px("floor($WIDTH*min((0.3),1.0))"), 384);
        assert_eq!(px("max($WIDTH / 243.0, 1.0)"), 5);
        assert_eq!(px("1"), 1);
        assert_eq!(px("-5 + 2 * 3"), 1);
        assert_eq!(pixels(None, 1280, &vars).unwrap(), 1280);
        assert_eq!(px("$WIDTH * 100"), 2560, "clamped to twice the output");
        assert_eq!(px("$WIDTH / 0"), 1280, "an infinite size is the full one");
    }

    #[test]
    fn a_bad_expression_is_an_error_that_names_the_problem_never_a_panic() {
        for bad in ["$nope", "floor(", "2 +", "launch()", "1 2", "((((", "$"] {
            assert!(eval(bad, &vars).is_err(), "{bad}");
        }
        let deep = "(".repeat(10_000) + "1" + &")".repeat(10_000);
        assert!(eval(&deep, &vars).unwrap_err().contains("nested"));
        let minus = "-".repeat(10_000) + "1";
        assert!(eval(&minus, &vars).is_err());
    }
}
