using GpuAe.Simd;
using System.Diagnostics;
using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Diagnostics;

/// <summary>One benchmark line: what ran, its shape, milliseconds per call, the rate achieved, and the milliseconds per
/// call the host spent issuing it (on a GPU, launches are queued: host ≈ total means the launches, not the kernels,
/// set the pace).</summary>
public sealed record BenchResult(string Name, string Shape, double Milliseconds, double GigaFlops, double HostMilliseconds);

/// <summary>Milliseconds per call, until the device finished and until the host had issued every call.</summary>
public readonly record struct Timing(double Milliseconds, double HostMilliseconds);

/// <summary>Per-kernel timings on the AE's shapes and the time of whole training steps.</summary>
public static class Bench
{
    static Timing Time(IBackend backend, Action launch, int repeats)
    {
        // Warm up past .NET's tiered compilation: methods called 30 times are recompiled, optimised with the profile
        // gathered, shortly afterwards in the background. Without this the host backends are timed in tier-0 code.
        for (int i = 0; i < 40; i++) launch();
        backend.Synchronize();
        Thread.Sleep(300);
        for (int i = 0; i < 5; i++) launch();
        backend.Synchronize();
        // The fastest of three timed runs: on a shared 2-core VM a single run varies by ±15 %, mostly upwards.
        var best = new Timing(double.MaxValue, double.MaxValue);
        for (int run = 0; run < 3; run++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < repeats; i++) launch();
            double issued = clock.Elapsed.TotalMilliseconds / repeats;
            backend.Synchronize();
            double done = clock.Elapsed.TotalMilliseconds / repeats;
            if (done < best.Milliseconds) best = new(done, issued);
        }
        return best;
    }

    static BenchResult Result(string name, string shape, Timing t, double flops = 0) =>
        new(name, shape, t.Milliseconds, flops / t.Milliseconds / 1e6, t.HostMilliseconds);

    /// <summary>The AE's four dense layers (in → out): every GEMM shape of its training step.</summary>
    static readonly (int In, int Out)[] AeLayers = [(784, 256), (256, 32), (32, 256), (256, 784)];

    public static IEnumerable<BenchResult> Kernels(IBackend backend, int batch = 128, int repeats = 20)
    {
        // The fixed cost of one launch: a kernel that writes a single float.
        var one = backend.Allocate(1);
        yield return Result("launch (fill 1 float)", "1", Time(backend, () => backend.Fill(one, 0f), repeats));
        foreach (var (inF, outF) in AeLayers)
        {
            var x = backend.Allocate(batch * inF); var w = backend.Allocate(outF * inF); var b = backend.Allocate(outF);
            var y = backend.Allocate(batch * outF); var dx = backend.Allocate(batch * inF); var dw = backend.Allocate(outF * inF);
            backend.Fill(x, 0.5f); backend.Fill(w, 0.01f); backend.Fill(y, 0.1f);
            double flops = 2.0 * batch * inF * outF;
            string shape = $"{batch}×{inF}→{outF}";
            yield return Result("dense forward + ReLU (X·Wᵀ)", shape,
                Time(backend, () => backend.DenseForward(x, w, b, y, batch, inF, outF, Activation.Relu), repeats), flops);
            yield return Result("dense backward dX (dY·W, ReLU mask)", shape,
                Time(backend, () => backend.DenseBackwardInput(y, w, dx, batch, inF, outF, x), repeats), flops);
            yield return Result("dense backward dW, db (dYᵀ·X)", shape,
                Time(backend, () => backend.DenseBackwardParameters(y, x, dw, b, batch, inF, outF), repeats), flops);
        }
        {
            // The conv models' widest convolution: 14×14×32 → 7×7×64, 3×3 kernel, stride 2 (its transposed twin in the decoder
            // runs the same two data-movement kernels and GEMMs of the same size).
            var conv = new ConvGeometry(14, 14, 32, Kernel: 3, Stride: 2, Padding: 1);
            const int outChannels = 64;
            var images = backend.Allocate(batch * conv.InPixels * conv.Channels); var cols = backend.Allocate(batch * conv.OutPixels * conv.PatchLength);
            var w = backend.Allocate(outChannels * conv.PatchLength); var b = backend.Allocate(outChannels);
            var y = backend.Allocate(batch * conv.OutPixels * outChannels);
            backend.Fill(images, 0.5f); backend.Fill(w, 0.01f);
            string shape = $"{batch}×14×14×32→7×7×64";
            yield return Result("im2col (k3, stride 2)", shape, Time(backend, () => backend.Im2Col(images, cols, batch, conv), repeats));
            yield return Result("col2im (k3, stride 2)", shape, Time(backend, () => backend.Col2Im(cols, images, batch, conv, null), repeats));
            double flops = 2.0 * batch * conv.OutPixels * conv.PatchLength * outChannels;
            yield return Result("conv forward (im2col + GEMM + ReLU)", shape, Time(backend, () =>
            {
                backend.Im2Col(images, cols, batch, conv);
                backend.DenseForward(cols, w, b, y, batch * conv.OutPixels, conv.PatchLength, outChannels, Activation.Relu);
            }, repeats), flops);
        }
        int pixels = 784, parameterCount = 784 * 256;
        var logits = backend.Allocate(batch * pixels); var targets = backend.Allocate(batch * pixels); var dLogits = backend.Allocate(batch * pixels);
        var rowsA = backend.Allocate(batch); var rowsB = backend.Allocate(batch);
        yield return Result("sigmoid + BCE + gradient", $"{batch}×{pixels}",
            Time(backend, () => backend.SigmoidBce(logits, targets, dLogits, rowsA, rowsB, batch, pixels, 1f / batch), repeats));
        var p = backend.Allocate(parameterCount); var g = backend.Allocate(parameterCount);
        var m = backend.Allocate(parameterCount); var v = backend.Allocate(parameterCount);
        yield return Result("Adam", $"{parameterCount} parameters", Time(backend, () => backend.Adam(p, g, m, v, AdamStep.At(1, 1e-3f)), repeats));
    }

    /// <summary>A training step of a fresh model on a constant synthetic batch, with Adam, as the trainer launches it
    /// (<see cref="TrainingStep"/>: fused where the backend fuses): call it with the step number. Everything goes
    /// through <paramref name="backend"/> (the timeline passes one that marks each call).</summary>
    internal static Action<long> SyntheticStep(IBackend backend, string kind, int batch)
    {
        var model = Models.Create(backend, new ModelSpec(kind), batch, stepsPerEpoch: 1);
        model.Initialise(1);
        var images = backend.Allocate(batch * model.Features);
        backend.Fill(images, 0.3f);
        var order = backend.AllocateIndices(batch);
        backend.Upload(order, [.. Enumerable.Range(0, batch)]);
        var batchRows = backend.Allocate(batch * model.Features);
        var acc = backend.Allocate((int)Slot.Count);
        var flag = backend.AllocateIndices(1);
        return step => TrainingStep.Launch(backend, model, images, order, 0, batch, step, batchRows, AdamStep.At(step, 1e-3f),
            new NonFiniteWatch(acc, (int)Slot.TrainLoss, flag, step), null);
    }

    /// <summary>One GEMM shape of a training step: its layout (<see cref="SimdBackend.Layout"/>), how many times a step
    /// runs it, and the median time of one call timed on its own.</summary>
    public sealed record GemmTiming(string Layout, int M, int N, int K, int CallsPerStep, double Microseconds)
    {
        public double GigaFlops => 2.0 * M * N * K / Microseconds / 1e3;
    }

    /// <summary>Every GEMM shape of the model's training step on the SIMD backend, each timed alone: random operands in
    /// its layout, <paramref name="calls"/> calls timed one by one after a warm-up, the median. bench/gemm_peer.py times
    /// PyTorch's matmul on the same shapes the same way.</summary>
    public static List<GemmTiming> Gemms(SimdBackend backend, string kind, int batch, int calls = 200)
    {
        var seen = new List<(string Layout, int M, int N, int K)>();
        backend.Multiplying = (layout, m, n, k) => seen.Add((layout, m, n, k));
        try { SyntheticStep(backend, kind, batch)(1); }
        finally { backend.Multiplying = null; }
        var timings = new List<GemmTiming>();
        foreach (var group in seen.GroupBy(s => s))
        {
            var (layout, m, n, k) = group.Key;
            bool aT = layout.StartsWith("Aᵀ"), bT = layout.EndsWith("Bᵀ");
            var random = new Random(1);
            float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)random.NextDouble() - 0.5f)];
            Strided a = aT ? new(Values(k * m), 0, 1, m) : new(Values(m * k), 0, k, 1);
            Strided b = bT ? new(Values(n * k), 0, 1, k) : new(Values(k * n), 0, n, 1);
            Strided c = new(new float[m * n], 0, n, 1);
            for (int i = 0; i < 40; i++) backend.Gemm(a, b, c, m, n, k);
            var each = new double[calls];
            for (int i = 0; i < calls; i++)
            {
                long start = Stopwatch.GetTimestamp();
                backend.Gemm(a, b, c, m, n, k);
                each[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
            Array.Sort(each);
            timings.Add(new(layout, m, n, k, group.Count(), each[calls / 2]));
        }
        return timings;
    }

    /// <summary>Milliseconds per training step (forward, backward, Adam) of the model on synthetic data.</summary>
    public static Timing Step(IBackend backend, string kind, int batch = 128, int steps = 20)
    {
        var runStep = SyntheticStep(backend, kind, batch);
        long step = 0;
        return Time(backend, () => runStep(++step), steps);
    }

    /// <summary>Seconds for <paramref name="steps"/> synthetic training steps run back to back once, as an epoch runs
    /// them: the sum of its operations that <see cref="Epoch"/> is compared with. (The fastest of three short runs,
    /// <see cref="Step"/>, is biased low for that comparison: hot caches, and none of this VM's slow stretches.)</summary>
    public static double StepsBackToBack(IBackend backend, string kind, int batch, int steps)
    {
        var runStep = SyntheticStep(backend, kind, batch);
        long step = 0;
        for (int i = 0; i < 40; i++) runStep(++step);
        backend.Synchronize();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) runStep(++step);
        backend.Synchronize();
        return clock.Elapsed.TotalSeconds;
    }

    static readonly Dictionary<(int Count, ulong Seed), Dataset> SyntheticSets = [];

    /// <summary>Images of uniform pixels, made once per process (47 million draws for the training set: seconds on
    /// the host, which a sweep of epochs need not pay each time).</summary>
    static Dataset Synthetic(int count, ulong seed)
    {
        if (!SyntheticSets.TryGetValue((count, seed), out var set))
            SyntheticSets[(count, seed)] = set = new(Enumerable.Range(0, count * 784).Select(i => CounterRandom.Uniform(seed, 1, (ulong)i)).ToArray(),
                new byte[count], count, 784);
        return set;
    }

    /// <summary>A real epoch through the trainer on a synthetic data set of Fashion-MNIST's size (so a GPU machine needs
    /// no data files): seconds of training (60,000 images resident on the device; the loss read at the end is the
    /// only wait for the device; on CUDA the steps are replayed from a CUDA graph, as in training), seconds to
    /// evaluate 10,000 test images, and the epoch's training loss (nats per image: the same run fused and kernel by
    /// kernel agrees to float rounding).</summary>
    public static (double TrainSeconds, double EvalSeconds, double TrainLoss) Epoch(IBackend backend, string kind, int batch = 128, int trainImages = 60000, int testImages = 10000)
    {
        var train = Synthetic(trainImages, 1); var test = Synthetic(testImages, 2);
        var options = new TrainOptions(1, batch, 1e-3f, 1);
        // Warm-up on a few batches compiles every kernel (training and evaluation), so the timed epoch measures steps only.
        var warmUpModel = Models.Create(backend, new ModelSpec(kind), batch, stepsPerEpoch: 4);
        warmUpModel.Initialise(1);
        using (var warmUp = new Trainer(backend, warmUpModel, Synthetic(4 * batch, 3), Synthetic(batch, 4), options))
            warmUp.RunEpoch(1);
        var model = Models.Create(backend, new ModelSpec(kind), batch, stepsPerEpoch: (trainImages + batch - 1) / batch);
        model.Initialise(1);
        using var trainer = new Trainer(backend, model, train, test, options) { HostReadInterval = int.MaxValue };
        var metrics = trainer.RunEpoch(1);
        var clock = Stopwatch.StartNew();
        trainer.Evaluate();
        return (metrics.Seconds, clock.Elapsed.TotalSeconds, metrics.TrainLoss);
    }
}
