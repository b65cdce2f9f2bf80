namespace GpuAe.Kernels;

/// <summary>
/// The one place that checks a backend call's tensors against the shapes it is given, before anything runs: both
/// backends call it first. Without it a wrong shape corrupts memory on the SIMD backend (it indexes with unsafe code)
/// and reads or writes past a buffer on a GPU (silent garbage). A few integer compares per call: always on.
/// Tensors may be longer than needed (buffers are allocated for the largest batch), never shorter.
/// </summary>
public static class Shapes
{
    static void Need(string op, string name, int length, long needed, string shape)
    {
        if (length < needed)
            throw new ArgumentException($"{op}: {name} holds {length} values but {shape} needs {needed}");
    }

    static void Need(string op, string name, Tensor t, long needed, string shape) => Need(op, name, t.Length, needed, shape);
    static void Need(string op, string name, Tensor? t, long needed, string shape) { if (t is { } v) Need(op, name, v.Length, needed, shape); }

    public static void Dense(string op, Tensor x, Tensor w, Tensor y, int rows, int inFeatures, int outFeatures)
    {
        string shape = $"{rows} rows × {inFeatures} → {outFeatures}";
        Need(op, "x", x, (long)rows * inFeatures, shape);
        Need(op, "w", w, (long)outFeatures * inFeatures, shape);
        Need(op, "y", y, (long)rows * outFeatures, shape);
    }

    public static void CopyColumns(Tensor source, Tensor destination, ColumnCopy c)
    {
        string shape = $"{c.Rows} rows, columns [{c.SourceColumn}, {c.SourceColumn + c.Columns}) of {c.SourceWidth} into [{c.DestinationColumn}, {c.DestinationColumn + c.Columns}) of {c.DestinationWidth}";
        if (c.Rows < 0 || c.Columns < 0 || c.SourceColumn < 0 || c.DestinationColumn < 0 ||
            c.SourceColumn + c.Columns > c.SourceWidth || c.DestinationColumn + c.Columns > c.DestinationWidth)
            throw new ArgumentException($"copy columns: {shape} does not fit the rows");
        if (c.Rows == 0 || c.Columns == 0) return;
        Need("copy columns", "source", source, (long)(c.Rows - 1) * c.SourceWidth + c.SourceColumn + c.Columns, shape);
        Need("copy columns", "destination", destination, (long)(c.Rows - 1) * c.DestinationWidth + c.DestinationColumn + c.Columns, shape);
    }

    public static void DenseForward(Tensor x, Tensor w, Tensor b, Tensor y, int rows, int inFeatures, int outFeatures)
    {
        Dense("dense forward", x, w, y, rows, inFeatures, outFeatures);
        Need("dense forward", "b", b, outFeatures, $"{outFeatures} outputs");
    }

    public static void DenseBackwardInput(Tensor dy, Tensor w, Tensor dx, Tensor? reluOutput, int rows, int inFeatures, int outFeatures)
    {
        Dense("dense backward dX", dx, w, dy, rows, inFeatures, outFeatures);
        Need("dense backward dX", "reluOutput", reluOutput, (long)rows * inFeatures, $"{rows} rows × {inFeatures}");
    }

    public static void DenseBackwardParameters(Tensor dy, Tensor x, Tensor dw, Tensor? db, int rows, int inFeatures, int outFeatures)
    {
        Dense("dense backward dW", x, dw, dy, rows, inFeatures, outFeatures);
        Need("dense backward dW", "db", db, outFeatures, $"{outFeatures} outputs");
    }

    public static void Rows(string op, int rows, int cols, params (string Name, Tensor? Tensor, bool PerRow)[] tensors)
    {
        foreach (var (name, t, perRow) in tensors)
            Need(op, name, t, perRow ? rows : (long)rows * cols, $"{rows} rows × {cols}");
    }

    public static void Conv(string op, Tensor images, Tensor cols, Tensor? reluOutput, int count, ConvGeometry g)
    {
        string shape = $"{count} images of {g.InHeight}×{g.InWidth}×{g.Channels}, kernel {g.Kernel}, stride {g.Stride}";
        Need(op, "images", images, (long)count * g.InPixels * g.Channels, shape);
        Need(op, "cols", cols, (long)count * g.OutPixels * g.PatchLength, shape);
        Need(op, "reluOutput", reluOutput, (long)count * g.InPixels * g.Channels, shape);
    }

    /// <summary>A product of count·OutPixels rows × <paramref name="width"/> (x, or dy) by w, added into images by col2im.</summary>
    public static void Col2ImOfProduct(string op, Tensor x, Tensor w, Tensor images, Tensor cols, Tensor? reluOutput, int count, int width, ConvGeometry g)
    {
        Conv(op, images, cols, reluOutput, count, g);
        string shape = $"{count} images of {g.OutHeight}×{g.OutWidth}×{width} → {g.InHeight}×{g.InWidth}×{g.Channels}";
        Need(op, "x", x, (long)count * g.OutPixels * width, shape);
        Need(op, "w", w, (long)g.PatchLength * width, shape);
    }

    public static void Latent(string op, Tensor enc, int rows, int latent, params (string Name, Tensor? Tensor, int PerRow)[] tensors)
    {
        string shape = $"{rows} rows, latent {latent}";
        Need(op, "enc", enc, 2L * rows * latent, shape);
        foreach (var (name, t, perRow) in tensors) Need(op, name, t, (long)rows * perRow, shape);
    }

    public static void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot)
    {
        Need("accumulate sum", "values", values, count, $"{count} values");
        Need("accumulate sum", "accumulator", accumulator, slot + 1L, $"slot {slot}");
    }

    public static void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, NonFiniteWatch? watch, IndexTensor? record)
    {
        string shape = $"{parameters.Length} parameters";
        Need("Adam", "gradients", gradients, parameters.Length, shape);
        Need("Adam", "first moment", firstMoment, parameters.Length, shape);
        Need("Adam", "second moment", secondMoment, parameters.Length, shape);
        if (watch is { } w) Need("Adam", "watched sums", w.Sums, w.Slot + 1L, $"slot {w.Slot}");
        if (record is { } r) Need("Adam", "step record", r.Length, StepRecord.Length, "a step record");
    }

    public static void GatherRows(IndexTensor order, StepValue start, int rows, int cols, Tensor data, Tensor destination)
    {
        string shape = $"{rows} rows × {cols}";
        Need("gather rows", "destination", destination, (long)rows * cols, shape);
        Need("gather rows", "data", data, cols, shape);
        Need("gather rows", "order", order.Length, rows + (start.Record is null ? start.Value : 0), $"{rows} rows from row {start.Value}");
    }

    public static void LogMeanExp(Tensor logWeights, Tensor rowBound, int samples, int rows)
    {
        Need("log-mean-exp", "logWeights", logWeights, (long)samples * rows, $"{samples} samples × {rows} rows");
        Need("log-mean-exp", "rowBound", rowBound, rows, $"{rows} rows");
    }
}
