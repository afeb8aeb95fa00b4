//! Retention periods as a records schedule writes them: "7 years", "18 months",
//! "90 days", "1 year 6 months", or short forms "7y", "18mo", "90d", "2w".

use std::fmt;

use jiff::{Span, Timestamp, ToSpan};

/// A calendar period: years and months are calendar units (a 7-year period that
/// starts on 29 February ends on 28 February), days are whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    pub years: i64,
    pub months: i64,
    pub days: i64,
}

impl Period {
    pub fn parse(text: &str) -> Result<Period, String> {
        let mut period = Period::default();
        let lowered = text.trim().to_ascii_lowercase();
        let mut rest = lowered.as_str();
        let mut any = false;
        while !rest.is_empty() {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return Err(format!(
                    "`{text}` is not a period: write a number and a unit, e.g. \"7 years\", \"18 months\", \"90 days\""
                ));
            }
            let number: i64 = rest[..digits]
                .parse()
                .map_err(|_| format!("`{text}`: the number is too large"))?;
            rest = rest[digits..].trim_start();
            let unit_len = rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                    .len();
            let unit = &rest[..unit_len];
            match unit {
                "y" | "yr" | "yrs" | "year" | "years" => period.years += number,
                "mo" | "month" | "months" => period.months += number,
                "w" | "wk" | "week" | "weeks" => period.days += 7 * number,
                "d" | "day" | "days" => period.days += number,
                "" => {
                    return Err(format!(
                        "`{text}`: {number} of what? add a unit (years, months, weeks, days)"
                    ))
                }
                other => {
                    return Err(format!(
                        "`{text}`: unknown unit `{other}` (years, months, weeks, days)"
                    ))
                }
            }
            if period.years > 1000 || period.months > 12_000 || period.days > 400_000 {
                return Err(format!(
                    "`{text}` is longer than any schedule needs; use \"permanent\""
                ));
            }
            any = true;
            rest = rest[unit_len..].trim_start_matches([' ', ',']);
            if let Some(after_and) = rest.strip_prefix("and ") {
                rest = after_and;
            }
        }
        if !any {
            return Err("an empty period; write e.g. \"7 years\" or \"permanent\"".into());
        }
        Ok(period)
    }

    fn span(self) -> Span {
        self.years.years().months(self.months).days(self.days)
    }

    /// `start` plus this period, in UTC calendar arithmetic.
    pub fn after(self, start: Timestamp) -> Timestamp {
        let zoned = start.to_zoned_datetime(jiff::tz::TimeZone::UTC);
        zoned
            .checked_add(self.span())
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MAX)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut unit = |n: i64, one: &str, many: &str| {
            if n != 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        unit(self.years, "year", "years");
        unit(self.months, "month", "months");
        unit(self.days, "day", "days");
        if parts.is_empty() {
            return f.write_str("0 days");
        }
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schedule_wording() {
        let p = |s| Period::parse(s).unwrap();
        assert_eq!(
            p("7 years"),
            Period {
                years: 7,
                months: 0,
                days: 0
            }
        );
        assert_eq!(
            p("7y"),
            Period {
                years: 7,
                months: 0,
                days: 0
            }
        );
        assert_eq!(
            p("1 year 6 months"),
            Period {
                years: 1,
                months: 6,
                days: 0
            }
        );
        assert_eq!(
            p("1 year, 6 months and 3 days"),
            Period {
                years: 1,
                months: 6,
                days: 3
            }
        );
        assert_eq!(
            p("2w"),
            Period {
                years: 0,
                months: 0,
                days: 14
            }
        );
        assert_eq!(
            p("90 Days"),
            Period {
                years: 0,
                months: 0,
                days: 90
            }
        );
        assert_eq!(p("18mo").to_string(), "18 months");
    }

    #[test]
    fn rejects_what_is_not_a_period() {
        for bad in [
            "",
            "years",
            "7",
            "7 fortnights",
            "-3 days",
            "seven years",
            "99999 years",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn calendar_arithmetic() {
        let start: Timestamp = "2020-02-29T12:00:00Z".parse().unwrap();
        let years = Period::parse("1 year").unwrap();
        assert_eq!(years.after(start).to_string(), "2021-02-28T12:00:00Z");
        let days = Period::parse("30 days").unwrap();
        assert_eq!(days.after(start).to_string(), "2020-03-30T12:00:00Z");
    }
}
