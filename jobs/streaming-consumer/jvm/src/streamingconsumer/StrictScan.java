package streamingconsumer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * The fast path's structural check of one Kafka value, in one pass over its bytes (streaming_consumer/transforms.py).
 *
 * <p>True only when the value is certainly one strict JSON (RFC 8259) object as strict_json.py accepts it, as far as
 * Spark's own typed parse does not check it: valid UTF-8; exactly one object with only JSON whitespace around it; the
 * JSON grammar everywhere (no single quotes, comments, NaN, leading zeros, raw control characters, trailing data);
 * no object anywhere that repeats a name; no unpaired surrogate escape; numbers of at most {@code maxNumberChars} characters
 * and nesting of at most {@code maxDepth} levels; and each top-level string field (and timestamp field) a JSON string
 * or null, each map field an object or null (Spark's reader would turn any JSON value into text for a string field).
 *
 * <p>False means "not shown", never "invalid": the value then goes to strict_json.py, which decides exactly and says
 * why. So anything unusual may be false: a name with an escape (names are compared as bytes, and escaped names are
 * rare).
 *
 * <p>The spec (built by transforms.py from the schema): a first line {@code maxNumberChars<TAB>maxDepth}, then one line
 * per constrained top-level field, {@code s<TAB>name} (a JSON string or null) or {@code m<TAB>name} (an object or null).
 */
public final class StrictScan implements UDF1<byte[], Boolean> {
    private static final long serialVersionUID = 1L;

    private static final byte ANY = 0;
    private static final byte STRING = 1;
    private static final byte OBJECT = 2;

    // What value() found; FAIL when the value is not (shown to be) valid.
    private static final int FAIL = 0;
    private static final int T_STRING = 1;
    private static final int T_OBJECT = 2;
    private static final int T_ARRAY = 3;
    private static final int T_NULL = 4;
    private static final int T_SCALAR = 5;
    // What open() and separator() found.
    private static final int MORE = 1;
    private static final int CLOSED = 2;

    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);

    private final int maxNumberChars;
    private final int maxDepth;
    private final byte[][] names;
    private final byte[] kinds;

    public StrictScan(String spec) {
        String[] lines = spec.split("\n");
        String[] limits = lines[0].split("\t");
        if (limits.length != 2) {
            throw new IllegalArgumentException("spec's first line must be maxNumberChars<TAB>maxDepth, got: " + lines[0]);
        }
        maxNumberChars = Integer.parseInt(limits[0]);
        maxDepth = Integer.parseInt(limits[1]);
        names = new byte[lines.length - 1][];
        kinds = new byte[lines.length - 1];
        for (int k = 1; k < lines.length; k++) {
            String line = lines[k];
            if (line.length() < 3 || line.charAt(1) != '\t' || "sm".indexOf(line.charAt(0)) < 0) {
                throw new IllegalArgumentException("spec line must be s<TAB>name or m<TAB>name, got: " + line);
            }
            kinds[k - 1] = line.charAt(0) == 's' ? STRING : OBJECT;
            names[k - 1] = line.substring(2).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The check as a Column over a binary column (Kafka's value), for PySpark (no overloads to resolve there). */
    public static Column column(String spec, Column value) {
        return functions.udf(new StrictScan(spec), DataTypes.BooleanType).apply(value);
    }

    @Override
    public Boolean call(byte[] value) {
        return value != null && new Scan(value).record();
    }

    /** One value's scan: the bytes, the position, and the names of the objects open at the position. */
    private final class Scan {
        private final byte[] b;
        private final int n;
        private int i;
        // Name i of the objects open now is b[starts[i]..ends[i]); each object's names from its own base.
        private int[] starts = new int[16];
        private int[] ends = new int[16];
        private int top;

        Scan(byte[] b) {
            this.b = b;
            this.n = b.length;
        }

        boolean record() {
            ws();
            if (peek() != '{' || !object(1, true)) {
                return false;
            }
            ws();
            return i == n;
        }

        /** The byte at the position, or 0 at the end (0 is never valid outside a string, and strings check the end). */
        private int peek() {
            return i < n ? b[i] : 0;
        }

        private void ws() {
            while (i < n) {
                byte c = b[i];
                if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                    return;
                }
                i++;
            }
        }

        private int value(int depth) {
            switch (peek()) {
                case '"':
                    return string(false) ? T_STRING : FAIL;
                case '{':
                    return object(depth + 1, false) ? T_OBJECT : FAIL;
                case '[':
                    return array(depth + 1) ? T_ARRAY : FAIL;
                case 't':
                    return literal(TRUE) ? T_SCALAR : FAIL;
                case 'f':
                    return literal(FALSE) ? T_SCALAR : FAIL;
                case 'n':
                    return literal(NULL) ? T_NULL : FAIL;
                default:
                    return number() ? T_SCALAR : FAIL;
            }
        }

        private boolean object(int depth, boolean topLevel) {
            int first = open(depth, '}');
            if (first != MORE) {
                return first == CLOSED;
            }
            int base = top;
            while (true) {
                if (peek() != '"') {
                    return false;
                }
                int start = i + 1;
                if (!string(true)) {
                    return false;
                }
                int end = i - 1;
                for (int k = base; k < top; k++) {
                    if (ends[k] - starts[k] == end - start
                            && Arrays.equals(b, starts[k], ends[k], b, start, end)) {
                        return false; // a repeated name
                    }
                }
                push(start, end);
                ws();
                if (peek() != ':') {
                    return false;
                }
                i++;
                ws();
                byte need = topLevel ? kindOf(start, end) : ANY;
                int found = value(depth);
                if (found == FAIL
                        || (need == STRING && found != T_STRING && found != T_NULL)
                        || (need == OBJECT && found != T_OBJECT && found != T_NULL)) {
                    return false;
                }
                int next = separator('}');
                if (next != MORE) {
                    top = base;
                    return next == CLOSED;
                }
            }
        }

        private boolean array(int depth) {
            int first = open(depth, ']');
            if (first != MORE) {
                return first == CLOSED;
            }
            while (true) {
                if (value(depth) == FAIL) {
                    return false;
                }
                int next = separator(']');
                if (next != MORE) {
                    return next == CLOSED;
                }
            }
        }

        /** Past the opening bracket at the position: FAIL beyond the depth limit, CLOSED when {@code close} follows at
         * once (passed: an empty object or array), else MORE. */
        private int open(int depth, char close) {
            if (depth > maxDepth) {
                return FAIL;
            }
            i++;
            ws();
            if (peek() == close) {
                i++;
                return CLOSED;
            }
            return MORE;
        }

        /** After a member or element: MORE at a comma (passed, and the whitespace after it), CLOSED at {@code close}
         * (passed), FAIL otherwise. */
        private int separator(char close) {
            ws();
            int c = peek();
            if (c == ',') {
                i++;
                ws();
                return MORE;
            }
            if (c == close) {
                i++;
                return CLOSED;
            }
            return FAIL;
        }

        /** A string at the position (its opening quote): grammar, escapes and UTF-8; the position ends past it. */
        private boolean string(boolean name) {
            int j = i + 1;
            while (j < n) {
                int c = b[j];
                if (c == '"') {
                    i = j + 1;
                    return true;
                }
                if (c == '\\') {
                    if (name) {
                        return false; // names are compared as bytes: an escaped one goes to strict_json.py
                    }
                    j = escape(j);
                } else if (c >= 0x20) {
                    j++;
                } else if (c >= 0) {
                    return false; // a raw control character
                } else {
                    j = utf8(j);
                }
                if (j < 0) {
                    return false;
                }
            }
            return false; // never closed
        }

        /** The end of the escape at j, or -1: any of \" \\ \/ \b \f \n \r \t, \\uXXXX, a surrogate only as a pair. */
        private int escape(int j) {
            if (j + 1 >= n) {
                return -1;
            }
            switch (b[j + 1]) {
                case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                    return j + 2;
                case 'u':
                    int code = hex4(j + 2);
                    if (code >= 0xD800 && code <= 0xDBFF) {
                        // A high surrogate is valid only as the first half of a pair: a low surrogate escape next.
                        int low = j + 7 < n && b[j + 6] == '\\' && b[j + 7] == 'u' ? hex4(j + 8) : -1;
                        return low >= 0xDC00 && low <= 0xDFFF ? j + 12 : -1;
                    }
                    return code < 0 || (code >= 0xDC00 && code <= 0xDFFF) ? -1 : j + 6;
                default:
                    return -1;
            }
        }

        /** The four hex digits at k as a number, or -1. */
        private int hex4(int k) {
            if (k + 3 >= n) {
                return -1;
            }
            int code = 0;
            for (int m = k; m < k + 4; m++) {
                int d = Character.digit(b[m], 16);
                if (d < 0) {
                    return -1;
                }
                code = code * 16 + d;
            }
            return code;
        }

        /** The end of the UTF-8 sequence that starts at j (a byte >= 0x80), or -1 when it is not one (RFC 3629). */
        private int utf8(int j) {
            int c = b[j] & 0xFF;
            int count;
            int lo = 0x80;
            int hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                count = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                count = 2;
                if (c == 0xE0) {
                    lo = 0xA0; // no overlong form
                } else if (c == 0xED) {
                    hi = 0x9F; // no surrogate
                }
            } else if (c >= 0xF0 && c <= 0xF4) {
                count = 3;
                if (c == 0xF0) {
                    lo = 0x90;
                } else if (c == 0xF4) {
                    hi = 0x8F; // nothing above U+10FFFF
                }
            } else {
                return -1;
            }
            if (j + count >= n) {
                return -1;
            }
            int second = b[j + 1] & 0xFF;
            if (second < lo || second > hi) {
                return -1;
            }
            for (int k = j + 2; k <= j + count; k++) {
                if ((b[k] & 0xC0) != 0x80) {
                    return -1;
                }
            }
            return j + count + 1;
        }

        private boolean literal(byte[] word) {
            if (i + word.length > n || !Arrays.equals(b, i, i + word.length, word, 0, word.length)) {
                return false;
            }
            i += word.length;
            return true;
        }

        /** A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, of at most maxNumberChars characters. */
        private boolean number() {
            int start = i;
            if (peek() == '-') {
                i++;
            }
            int c = peek();
            if (c == '0') {
                i++;
            } else if (c >= '1' && c <= '9') {
                digits();
            } else {
                return false;
            }
            if (peek() == '.') {
                i++;
                if (!digits()) {
                    return false;
                }
            }
            c = peek();
            if (c == 'e' || c == 'E') {
                i++;
                c = peek();
                if (c == '+' || c == '-') {
                    i++;
                }
                if (!digits()) {
                    return false;
                }
            }
            return i - start <= maxNumberChars;
        }

        /** One or more digits at the position (false when none). */
        private boolean digits() {
            int start = i;
            while (i < n && b[i] >= '0' && b[i] <= '9') {
                i++;
            }
            return i > start;
        }

        private byte kindOf(int start, int end) {
            for (int k = 0; k < names.length; k++) {
                byte[] name = names[k];
                if (name.length == end - start && Arrays.equals(b, start, end, name, 0, name.length)) {
                    return kinds[k];
                }
            }
            return ANY;
        }

        private void push(int start, int end) {
            if (top == starts.length) {
                starts = Arrays.copyOf(starts, top * 2);
                ends = Arrays.copyOf(ends, top * 2);
            }
            starts[top] = start;
            ends[top] = end;
            top++;
        }
    }
}
