package streamingconsumer;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * Lets texts through until a task has let through {@code budget} characters, then gives null: a bound on what a
 * collect_list in a Dataset.observe brings to the driver (at most the budget per task).
 *
 * <p>The batch writer (streaming_consumer/io.py) carries the few records its fast path did not accept this way, so it
 * can classify them without reading the batch from Kafka again. It uses what was carried only when every left-out
 * record arrived; otherwise (a batch with more than the budget, or an evaluation this count did not foresee) it reads
 * them again by key. So a gate that closes early only costs time, never records.
 *
 * <p>Each task deserializes its own copy of the expression, so the count is per task; it is not part of the plan's
 * result, which is why the function may be declared deterministic (Dataset.observe refuses other functions).
 */
public final class CarryGate implements UDF1<String, String> {
    private static final long serialVersionUID = 1L;

    private final long budget;
    private transient long used;

    public CarryGate(long budget) {
        if (budget < 0) {
            throw new IllegalArgumentException("budget must be >= 0, got " + budget);
        }
        this.budget = budget;
    }

    /** The gate as a Column over a string column, for PySpark. */
    public static Column column(long budget, Column text) {
        return functions.udf(new CarryGate(budget), DataTypes.StringType).apply(text);
    }

    @Override
    public String call(String text) {
        if (text == null) {
            return null;
        }
        used += text.length();
        return used <= budget ? text : null;
    }
}
