using GpuAe.Kernels;
using ILGPU.Runtime;

namespace GpuAe.Nets.Diagnostics;

/// <summary>One operation of a training step on the device: the backend call, its sizes, and its device time.</summary>
public sealed record TimelineEntry(string Operation, double Microseconds);

/// <summary>
/// Where the device spends a training step: a profiling marker (on CUDA an event, timed by the GPU itself) after every
/// backend call of the step, so that the time between two markers is that call's kernels plus the gap before them.
/// Per-kernel benchmarks time each kernel alone, repeated; this times them in the order and with the data of a real
/// step. The measured steps are queued behind a backlog of unmarked ones so that the host, slowed by the markers, is
/// still ahead of the device: the gaps are then the device's own.
/// </summary>
public static class Timeline
{
    public static IReadOnlyList<TimelineEntry> Step(IlgpuBackend backend, string kind, int batch = 128, int steps = 20)
    {
        var marks = new List<(string Operation, ProfilingMarker Marker)>();
        bool marking = false;
        var marked = new MarkedBackend(backend, operation => { if (marking) marks.Add((operation, backend.AddProfilingMarker())); });
        var runStep = Bench.SyntheticStep(marked, kind, batch);
        long step = 0;
        void RunStep() => runStep(++step);
        for (int i = 0; i < 40; i++) RunStep(); // compile, warm up
        backend.Synchronize();
        for (int i = 0; i < 40; i++) RunStep(); // the backlog
        marking = true;
        var perStep = new List<List<(string, ProfilingMarker)>>();
        for (int s = 0; s < steps; s++)
        {
            marks.Add(("start", backend.AddProfilingMarker()));
            RunStep();
            perStep.Add([.. marks]);
            marks.Clear();
        }
        backend.Synchronize();
        // The median over the steps of each operation's time (the first marker of a step only opens it).
        var first = perStep[0];
        var timeline = new List<TimelineEntry>();
        for (int i = 1; i < first.Count; i++)
        {
            var times = perStep.Select(m => m[i].Item2.MeasureFrom(m[i - 1].Item2).TotalMicroseconds).Order().ToArray();
            timeline.Add(new(first[i].Item1, times[times.Length / 2]));
        }
        foreach (var m in perStep.SelectMany(m => m)) m.Item2.Dispose();
        return timeline;
    }
}

/// <summary>An <see cref="IBackend"/> that calls <c>mark</c> with the operation's name and sizes after every call that
/// launches work on the device, and otherwise passes everything to the backend it wraps.</summary>
sealed class MarkedBackend(IBackend inner, Action<string> mark) : IBackend
{
    public string DeviceName => inner.DeviceName;
    public Tensor Allocate(int length) => inner.Allocate(length);
    public IndexTensor AllocateIndices(int length) => inner.AllocateIndices(length);
    public void Upload(Tensor destination, ReadOnlySpan<float> source) => inner.Upload(destination, source);
    public void Upload(IndexTensor destination, ReadOnlySpan<int> source) => inner.Upload(destination, source);
    public void Download(Tensor source, Span<float> destination) => inner.Download(source, destination);
    public void Download(IndexTensor source, Span<int> destination) => inner.Download(source, destination);
    public void Synchronize() => inner.Synchronize();
    public void Dispose() { }

    public void Fill(Tensor destination, float value)
    { inner.Fill(destination, value); mark($"fill {destination.Length}"); }
    public void DenseForward(Tensor x, Tensor w, Tensor b, Tensor y, int rows, int inFeatures, int outFeatures, Activation activation)
    { inner.DenseForward(x, w, b, y, rows, inFeatures, outFeatures, activation); mark($"dense forward {rows}×{inFeatures}→{outFeatures}"); }
    public void DenseBackwardInput(Tensor dy, Tensor w, Tensor dx, int rows, int inFeatures, int outFeatures, Tensor? reluOutput)
    { inner.DenseBackwardInput(dy, w, dx, rows, inFeatures, outFeatures, reluOutput); mark($"dense backward dX {rows}×{inFeatures}→{outFeatures}"); }
    public void DenseBackwardParameters(Tensor dy, Tensor x, Tensor dw, Tensor? db, int rows, int inFeatures, int outFeatures)
    { inner.DenseBackwardParameters(dy, x, dw, db, rows, inFeatures, outFeatures); mark($"dense backward dW, db {rows}×{inFeatures}→{outFeatures}"); }
    public void ColumnSums(Tensor dy, int rows, int cols, Tensor db)
    { inner.ColumnSums(dy, rows, cols, db); mark($"column sums {rows}×{cols}"); }
    public void Im2Col(Tensor images, Tensor cols, int count, ConvGeometry geometry)
    { inner.Im2Col(images, cols, count, geometry); mark($"im2col {Images(count, geometry)}"); }
    public void Col2Im(Tensor cols, Tensor images, int count, ConvGeometry geometry, Tensor? reluOutput)
    { inner.Col2Im(cols, images, count, geometry, reluOutput); mark($"col2im {Images(count, geometry)}"); }
    public void AddBias(Tensor y, Tensor bias, int rows, int cols, Activation activation)
    { inner.AddBias(y, bias, rows, cols, activation); mark($"bias {rows}×{cols}"); }
    public void SigmoidBce(Tensor logits, Tensor targets, Tensor dLogits, Tensor rowBce, Tensor rowSquaredError, int rows, int cols, float gradScale)
    { inner.SigmoidBce(logits, targets, dLogits, rowBce, rowSquaredError, rows, cols, gradScale); mark($"sigmoid + BCE + gradient {rows}×{cols}"); }
    public void AccumulateSum(Tensor values, int count, Tensor accumulator, int slot, float scale = 1f)
    { inner.AccumulateSum(values, count, accumulator, slot, scale); mark($"accumulate sum {count}"); }
    public void Adam(Tensor parameters, Tensor gradients, Tensor firstMoment, Tensor secondMoment, AdamStep step, NonFiniteWatch? watch = null,
        IndexTensor? stepRecord = null)
    { inner.Adam(parameters, gradients, firstMoment, secondMoment, step, watch, stepRecord); mark($"Adam {parameters.Length}"); }
    public void BeginStep(IndexTensor schedule, IndexTensor record)
    { inner.BeginStep(schedule, record); mark("begin step"); }
    public void GatherRows(Tensor data, IndexTensor order, StepValue start, int rows, int cols, Tensor destination)
    { inner.GatherRows(data, order, start, rows, cols, destination); mark($"gather rows {rows}×{cols}"); }
    public void Sigmoid(Tensor x, Tensor y)
    { inner.Sigmoid(x, y); mark($"sigmoid {x.Length}"); }
    public void NormalNoise(Tensor noise, ulong seed, StepValue step)
    { inner.NormalNoise(noise, seed, step); mark($"normal noise {noise.Length}"); }
    public void Reparameterize(Tensor enc, Tensor noise, Tensor z, int rows, int latent)
    { inner.Reparameterize(enc, noise, z, rows, latent); mark($"reparameterise {rows}×{latent}"); }
    public void ReparameterizeBackward(Tensor enc, Tensor noise, Tensor dz, Tensor denc, Tensor rowKl, int rows, int latent, float klWeightOverRows)
    { inner.ReparameterizeBackward(enc, noise, dz, denc, rowKl, rows, latent, klWeightOverRows); mark($"reparameterise backward + KL {rows}×{latent}"); }
    public void KlRows(Tensor enc, Tensor rowKl, int rows, int latent)
    { inner.KlRows(enc, rowKl, rows, latent); mark($"KL rows {rows}×{latent}"); }
    public void ImportanceLogWeights(Tensor enc, Tensor noise, Tensor z, Tensor rowBce, Tensor logWeights, int sample, int rows, int latent)
    { inner.ImportanceLogWeights(enc, noise, z, rowBce, logWeights, sample, rows, latent); mark($"IWAE log-weights {rows}×{latent}"); }
    static string Images(int count, ConvGeometry g) => $"{count}×{g.InHeight}×{g.InWidth}×{g.Channels} k{g.Kernel} s{g.Stride}";

    public void NegativeLogMeanExp(Tensor logWeights, int samples, int rows, Tensor rowBound)
    { inner.NegativeLogMeanExp(logWeights, samples, rows, rowBound); mark($"log-mean-exp {samples}×{rows}"); }
}
