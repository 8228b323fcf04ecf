package streamingconsumer;

import java.time.LocalDate;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * ISO-8601 text to epoch microseconds (UTC), or null: the timestamp rules of streaming_consumer/transforms.py
 * ({@code _timestamp_parts}), in one pass over the characters and no time zone lookup.
 *
 * <p>Accepts {@code YYYY-MM-DD[T ]hh:mm[:ss[.fraction]]} followed by nothing, {@code Z}, {@code ±hh}, {@code ±hhmm} or
 * {@code ±hh:mm} (ASCII digits; offset hours 00-23 and minutes 00-59); without an offset, UTC. Fractions of up to nine
 * digits, beyond microseconds truncated. Null for text of another form, a date or time that does not exist in the
 * proleptic Gregorian calendar (Feb 30, 24:00, 23:59:60), or an instant outside 0001-01-01 to 9999-12-31 UTC (what
 * Spark and Parquet timestamps hold). transforms.py's SQL parse still explains, for the dead letter, why a text is not
 * one; tests/test_transforms.py checks the two agree.
 */
public final class IsoMicros implements UDF1<String, Long> {
    private static final long serialVersionUID = 1L;

    public static final long MIN_MICROS = -62_135_596_800_000_000L;
    public static final long MAX_MICROS = 253_402_300_799_999_999L;

    /** The parse as a Column over a string column, for PySpark. */
    public static Column column(Column text) {
        return functions.udf(new IsoMicros(), DataTypes.LongType).apply(text);
    }

    @Override
    public Long call(String text) {
        if (text == null) {
            return null;
        }
        long micros = parse(text);
        return micros == Long.MIN_VALUE ? null : micros;
    }

    /** The microseconds, or Long.MIN_VALUE when the text is not a timestamp of the accepted form and range. */
    static long parse(String s) {
        int n = s.length();
        if (n < 16 || s.charAt(4) != '-' || s.charAt(7) != '-' || (s.charAt(10) != 'T' && s.charAt(10) != ' ')
                || s.charAt(13) != ':') {
            return Long.MIN_VALUE;
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 2);
        int day = digits(s, 8, 2);
        int hour = digits(s, 11, 2);
        int minute = digits(s, 14, 2);
        if ((year | month | day | hour | minute) < 0) {
            return Long.MIN_VALUE;
        }
        int p = 16;
        int second = 0;
        long fraction = 0;
        if (p < n && s.charAt(p) == ':') {
            second = digits(s, p + 1, 2);
            if (second < 0) {
                return Long.MIN_VALUE;
            }
            p += 3;
            if (p < n && s.charAt(p) == '.') {
                int start = ++p;
                while (p < n && isDigit(s.charAt(p))) {
                    if (p - start < 6) {
                        fraction = fraction * 10 + (s.charAt(p) - '0');
                    }
                    p++;
                }
                int count = p - start;
                if (count < 1 || count > 9) {
                    return Long.MIN_VALUE;
                }
                for (int k = count; k < 6; k++) {
                    fraction *= 10;
                }
            }
        }
        long offsetSeconds = 0;
        if (p < n) {
            char c = s.charAt(p);
            if (c == 'Z') {
                if (p + 1 != n) {
                    return Long.MIN_VALUE;
                }
            } else if (c == '+' || c == '-') {
                int offsetHours = digits(s, p + 1, 2);
                int offsetMinutes;
                if (p + 3 == n) {
                    offsetMinutes = 0;
                } else if (p + 6 == n && s.charAt(p + 3) == ':') {
                    offsetMinutes = digits(s, p + 4, 2);
                } else if (p + 5 == n) {
                    offsetMinutes = digits(s, p + 3, 2);
                } else {
                    return Long.MIN_VALUE;
                }
                if (offsetHours < 0 || offsetMinutes < 0 || offsetHours > 23 || offsetMinutes > 59) {
                    return Long.MIN_VALUE;
                }
                offsetSeconds = (c == '-' ? -1 : 1) * (offsetHours * 3600L + offsetMinutes * 60L);
            } else {
                return Long.MIN_VALUE;
            }
        }
        if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59
                || second > 59) {
            return Long.MIN_VALUE;
        }
        long seconds = LocalDate.of(year, month, day).toEpochDay() * 86_400L + hour * 3600L + minute * 60L + second;
        long micros = (seconds - offsetSeconds) * 1_000_000L + fraction;
        return micros < MIN_MICROS || micros > MAX_MICROS ? Long.MIN_VALUE : micros;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** The number that `count` ASCII digits at `at` make, or -1 when any is not a digit or the text ends first. */
    private static int digits(String s, int at, int count) {
        if (at + count > s.length()) {
            return -1;
        }
        int value = 0;
        for (int k = at; k < at + count; k++) {
            char c = s.charAt(k);
            if (!isDigit(c)) {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static int daysInMonth(int year, int month) {
        switch (month) {
            case 2:
                boolean leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
                return leap ? 29 : 28;
            case 4: case 6: case 9: case 11:
                return 30;
            default:
                return 31;
        }
    }
}
