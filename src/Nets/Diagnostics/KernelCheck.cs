using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;

namespace GpuAe.Nets.Diagnostics;

/// <summary>One comparison of `gpuae check`: a kernel on the device under test against the plain C# reference.
/// <see cref="Error"/>: what the device threw instead of answering (a kernel its driver cannot compile or launch).</summary>
public sealed record CheckResult(string Kernel, string Shape, double MaxError, double Tolerance, string? Error = null)
{
    public bool Passed => Error is null && MaxError <= Tolerance;
}

/// <summary>
/// `gpuae check`: runs every kernel of the interface, and whole AE and VAE training steps, on the device under test
/// and on the reference (the SIMD backend's scalar path: plain C#, itself tested against the references in the test
/// suite) with the same random inputs, and reports the largest difference. For a new GPU, a new driver or a new
/// ILGPU version, this is the test suite's guarantee carried to a machine without the SDK.
/// </summary>
public static class KernelCheck
{
    // Float32 sums of up to 784 products in another order: 1e-4 relative to (1 + |x|) is thousands of ulps of the
    // terms, yet any indexing or formula bug shows as an error of order 1. Transcendentals (exp, log on the GPU's
    // fast paths) get the same bound.
    const double Tolerance = 1e-4;

    static float[] Random(int n, int seed, float scale = 1f) =>
        Enumerable.Range(0, n).Select(i => (2f * CounterRandom.Uniform((ulong)seed, 77, (ulong)i) - 1f) * scale).ToArray();

    static float[] Unit(int n, int seed) => Enumerable.Range(0, n).Select(i => CounterRandom.Uniform((ulong)seed, 78, (ulong)i)).ToArray();

    static Tensor Up(IBackend be, float[] values)
    {
        var t = be.Allocate(values.Length);
        be.Upload(t, values);
        return t;
    }

    static float[] Down(IBackend be, params Tensor[] tensors)
    {
        var all = new List<float>();
        foreach (var t in tensors)
        {
            var values = new float[t.Length];
            be.Download(t, values);
            all.AddRange(values);
        }
        return [.. all];
    }

    static IEnumerable<(string Kernel, string Shape, Func<IBackend, float[]> Run)> Cases()
    {
        foreach (var (rows, inF, outF) in new[] { (128, 784, 256), (128, 256, 32), (37, 50, 9) })
        {
            string shape = $"{rows}×{inF}→{outF}";
            var x = Random(rows * inF, 1); var w = Random(outF * inF, 2, 0.1f); var b = Random(outF, 3); var dy = Random(rows * outF, 4);
            foreach (var act in new[] { Activation.None, Activation.Relu })
                yield return ($"dense forward ({act})", shape, be =>
                {
                    var y = be.Allocate(rows * outF);
                    be.DenseForward(Up(be, x), Up(be, w), Up(be, b), y, rows, inF, outF, act);
                    return Down(be, y);
                });
            foreach (var masked in new[] { false, true })
                yield return ($"dense backward dX{(masked ? " + ReLU mask" : "")}", shape, be =>
                {
                    var dx = be.Allocate(rows * inF);
                    be.DenseBackwardInput(Up(be, dy), Up(be, w), dx, rows, inF, outF, masked ? Up(be, x) : null);
                    return Down(be, dx);
                });
            yield return ("dense backward dW, db", shape, be =>
            {
                var dw = be.Allocate(outF * inF); var db = be.Allocate(outF);
                be.DenseBackwardParameters(Up(be, dy), Up(be, x), dw, db, rows, inF, outF);
                return Down(be, dw, db);
            });
        }
        foreach (var (g, count) in new[] { (new ConvGeometry(14, 14, 32, 3, 2, 1), 8), (new ConvGeometry(9, 7, 3, 3, 1, 1), 5) })
        {
            string shape = $"{count}×{g.InHeight}×{g.InWidth}×{g.Channels}, k{g.Kernel} s{g.Stride}";
            var images = Random(count * g.InPixels * g.Channels, 20); var cols = Random(count * g.OutPixels * g.PatchLength, 21);
            yield return ("im2col", shape, be =>
            {
                var c = be.Allocate(cols.Length);
                be.Im2Col(Up(be, images), c, count, g);
                return Down(be, c);
            });
            yield return ("col2im + ReLU mask", shape, be =>
            {
                var x = be.Allocate(images.Length);
                be.Col2Im(Up(be, cols), x, count, g, Up(be, images));
                return Down(be, x);
            });
            const int inChannels = 16;
            var products = Random(count * g.OutPixels * inChannels, 23); var weights = Random(g.PatchLength * inChannels, 24);
            yield return ("transposed convolution", shape, be =>
            {
                var x = be.Allocate(images.Length);
                be.ConvTranspose(Up(be, products), Up(be, weights), be.Allocate(cols.Length), x, count, inChannels, g);
                return Down(be, x);
            });
            yield return ("convolution backward dX + ReLU mask", shape, be =>
            {
                var x = be.Allocate(images.Length);
                be.ConvBackwardInput(Up(be, products), Up(be, weights), be.Allocate(cols.Length), x, count, inChannels, g, Up(be, images));
                return Down(be, x);
            });
            yield return ("bias + ReLU, column sums", shape, be =>
            {
                var y = Up(be, images); var sums = be.Allocate(g.Channels);
                be.AddBias(y, Up(be, Random(g.Channels, 22)), count * g.InPixels, g.Channels, Activation.Relu);
                be.ColumnSums(y, count * g.InPixels, g.Channels, sums);
                return Down(be, y, sums);
            });
        }
        {
            const int rows = 128, cols = 784;
            var logits = Random(rows * cols, 5, 8f); var targets = Unit(rows * cols, 6);
            yield return ("sigmoid + BCE + gradient", $"{rows}×{cols}", be =>
            {
                var d = be.Allocate(rows * cols); var bce = be.Allocate(rows); var se = be.Allocate(rows);
                be.SigmoidBce(Up(be, logits), Up(be, targets), d, bce, se, rows, cols, 1f / rows);
                return Down(be, d, bce, se);
            });
            yield return ("BCE rows (loss only)", $"{rows}×{cols}", be =>
            {
                var bce = be.Allocate(rows);
                be.BceRows(Up(be, logits), Up(be, targets), bce, rows, cols);
                return Down(be, bce);
            });
            var classLogits = Random(rows * 10, 21, 6f);
            var labels = Enumerable.Range(0, rows * 10).Select(i => i % 10 == (i / 10 * 7) % 10 ? 1f : 0f).ToArray();
            yield return ("softmax cross-entropy + gradient", $"{rows}×10", be =>
            {
                var d = be.Allocate(rows * 10); var loss = be.Allocate(rows); var correct = be.Allocate(rows);
                be.SoftmaxCrossEntropy(Up(be, classLogits), Up(be, labels), d, loss, correct, rows, 10, 1f / rows);
                return Down(be, d, loss, correct);
            });
            yield return ("sigmoid", $"{rows}×{cols}", be => { var y = be.Allocate(rows * cols); be.Sigmoid(Up(be, logits), y); return Down(be, y); });
            var gradients = Random(rows * cols, 24);
            yield return ("sigmoid backward, add scaled", $"{rows}×{cols}", be =>
            {
                var dx = be.Allocate(rows * cols); var sum = Up(be, logits);
                be.SigmoidBackward(Up(be, targets), Up(be, gradients), dx);
                be.AddScaled(dx, sum, -0.75f);
                return Down(be, dx, sum);
            });
            yield return ("leaky ReLU + backward", $"{rows}×{cols}", be =>
            {
                var y = be.Allocate(rows * cols); var dx = be.Allocate(rows * cols); var x = Up(be, logits);
                be.LeakyRelu(x, y, 0.2f);
                be.LeakyReluBackward(x, Up(be, gradients), dx, 0.2f);
                return Down(be, y, dx);
            });
            yield return ("half squared error + gradient", $"{rows}×{cols}", be =>
            {
                var d = be.Allocate(rows * cols); var loss = be.Allocate(rows);
                be.HalfSquaredError(Up(be, logits), Up(be, gradients), d, loss, rows, cols, 0.5f / rows);
                return Down(be, d, loss);
            });
            yield return ("binary correct", $"{rows}×{cols}", be =>
            {
                var correct = be.Allocate(rows * cols);
                be.BinaryCorrect(Up(be, logits), Up(be, targets), correct);
                return Down(be, correct);
            });
            yield return ("copy columns ([x | y])", $"{rows}×{cols} + {rows}×10", be =>
            {
                var joined = Up(be, Random(rows * (cols + 10), 23));
                be.CopyColumns(Up(be, targets), joined, new ColumnCopy(rows, cols, cols, 0, cols + 10, 0));
                be.CopyColumns(Up(be, labels), joined, new ColumnCopy(rows, 10, 10, 0, cols + 10, cols));
                return Down(be, joined);
            });
            yield return ("accumulate sum", $"{rows}", be =>
            {
                var acc = Up(be, [1f, 2f]);
                be.AccumulateSum(Up(be, logits), rows, acc, 1, 0.5f);
                return Down(be, acc);
            });
            var order = Enumerable.Range(0, 300).Select(i => (i * 7919) % 300).ToArray();
            var data = Unit(300 * cols, 7);
            yield return ("gather rows", $"{rows} of 300×{cols}", be =>
            {
                var idx = be.AllocateIndices(order.Length);
                be.Upload(idx, order);
                var batch = be.Allocate(rows * cols);
                be.GatherRows(Up(be, data), idx, 17, rows, cols, batch);
                return Down(be, batch);
            });
        }
        {
            var p = Random(200_000, 8); var g = Random(200_000, 9); var m = Random(200_000, 10, 0.1f); var v = Unit(200_000, 11);
            yield return ("Adam + NaN flag", "200000", be =>
            {
                var tp = Up(be, p); var tm = Up(be, m); var tv = Up(be, v); var tg = Up(be, g);
                var sums = Up(be, [1f, float.NaN]); var flag = be.AllocateIndices(1);
                be.Adam(tp, tg, tm, tv, AdamStep.At(7, 1e-3f), new NonFiniteWatch(sums, 0, flag, 4)); // finite: no flag
                be.Adam(tp, tg, tm, tv, AdamStep.At(8, 1e-3f), new NonFiniteWatch(sums, 1, flag, 5)); // NaN: flag = 5
                be.Adam(tp, tg, tm, tv, AdamStep.At(9, 1e-3f), new NonFiniteWatch(sums, 1, flag, 6)); // the first step stays
                var f = new int[1];
                be.Download(flag, f);
                return [.. Down(be, tp, tm, tv), f[0]];
            });
        }
        {
            const int rows = 128, latent = 2;
            var enc = Random(rows * 2 * latent, 12, 2f); var dz = Random(rows * latent, 13); var bce = Unit(rows, 14);
            yield return ("normal noise + reparameterisation", $"{rows}×{latent}", be =>
            {
                var noise = be.Allocate(rows * latent); var z = be.Allocate(rows * latent);
                be.NormalNoise(noise, 42, 3);
                be.Reparameterize(Up(be, enc), noise, z, rows, latent);
                return Down(be, noise, z);
            });
            yield return ("reparameterisation backward + KL", $"{rows}×{latent}", be =>
            {
                var noise = be.Allocate(rows * latent); var denc = be.Allocate(rows * 2 * latent); var kl = be.Allocate(rows); var kl2 = be.Allocate(rows);
                var tEnc = Up(be, enc);
                be.NormalNoise(noise, 42, 4);
                be.ReparameterizeBackward(tEnc, noise, Up(be, dz), denc, kl, rows, latent, 0.5f / rows);
                be.KlRows(tEnc, kl2, rows, latent);
                return Down(be, denc, kl, kl2);
            });
            yield return ("IWAE log-weights + log-mean-exp", $"{rows}×{latent}, k=3", be =>
            {
                var noise = be.Allocate(rows * latent); var z = be.Allocate(rows * latent); var lw = be.Allocate(3 * rows); var bound = be.Allocate(rows);
                var tEnc = Up(be, enc); var tBce = Up(be, bce);
                for (int s = 0; s < 3; s++)
                {
                    be.NormalNoise(noise, 9, s);
                    be.Reparameterize(tEnc, noise, z, rows, latent);
                    be.ImportanceLogWeights(tEnc, noise, z, tBce, lw, s, rows, latent);
                }
                be.NegativeLogMeanExp(lw, 3, rows, bound);
                return Down(be, lw, bound);
            });
        }
        yield return ("step record: begin step, gather, noise, Adam", "2 steps", be =>
        {
            var schedule = new int[2 * StepRecord.EntryLength];
            for (int k = 0; k < 2; k++)
                StepRecord.WriteEntry(schedule, k, 11 + k, 40 * k + 3, AdamStep.At(11 + k, 1e-3f));
            var tSchedule = be.AllocateIndices(schedule.Length); var record = be.AllocateIndices(StepRecord.Length);
            be.Upload(tSchedule, schedule);
            var order = be.AllocateIndices(300);
            be.Upload(order, Enumerable.Range(0, 300).Select(i => (i * 7919) % 300).ToArray());
            var data = Up(be, Unit(300 * 50, 16));
            var batch = be.Allocate(64 * 50); var noise = be.Allocate(256);
            var p = Up(be, Random(5000, 17)); var g = Up(be, Random(5000, 18)); var m = be.Allocate(5000); var v = be.Allocate(5000);
            var sums = Up(be, [float.NaN]); var flag = be.AllocateIndices(1);
            var outputs = new List<float>();
            for (int k = 0; k < 2; k++)
            {
                be.BeginStep(tSchedule, record);
                be.GatherRows(data, order, new StepValue(0, record, StepRecord.FirstRow), 64, 50, batch);
                be.NormalNoise(noise, 42, new StepValue(0, record, StepRecord.Step));
                be.Adam(p, g, m, v, AdamStep.At(1, 1e-3f), new NonFiniteWatch(sums, 0, flag, 0), record);
                outputs.AddRange(Down(be, batch, noise, p));
            }
            var ints = new int[StepRecord.Length + 1];
            be.Download(record, ints.AsSpan(0, StepRecord.Length));
            be.Download(flag, ints.AsSpan(StepRecord.Length));
            return [.. outputs, .. ints.Select(i => (float)i)];
        });
        // The VAE-GAN's steps (its prior's draws and its Adam per part read the record too) at a batch the scalar
        // reference steps through in seconds.
        foreach (var (kind, images, batch) in new[] { (ModelKind.Ae, 600, 128), (ModelKind.Vae, 600, 128), (ModelKind.VaeGanKind, 72, 16) })
        {
            // On CUDA the steps are replayed from a CUDA graph (all but the first full batch and the short last one);
            // a replay that repeated its recorded numbers would train on one batch over and over, and the losses show it.
            yield return ($"{kind}: epoch by the step record (CUDA: graph)", $"{images} images, batch {batch}", be =>
            {
                var train = new Dataset(Unit(images * 784, 19), new byte[images], images, 784);
                var test = new Dataset(Unit(batch * 784, 20), new byte[batch], batch, 784);
                var model = Models.Create(be, new ModelSpec(kind.Name), batch, stepsPerEpoch: (images + batch - 1) / batch);
                model.Initialise(6);
                using var trainer = new Trainer(be, model, train, test, new TrainOptions(1, batch, 1e-3f, 8));
                var m = trainer.RunEpoch(1);
                return [(float)m.TrainLoss, (float)m.TestLoss, (float)m.TestMse, trainer.Step, .. m.Adversarial?.Numbers.Select(v => (float)v) ?? []];
            });
        }
        foreach (var kind in ModelKind.All.Where(k => k.HasDecoder))
        {
            int batch = kind.Architecture == Architecture.Conv ? 16 : 128; // the scalar reference's conv step takes seconds at 128
            yield return ($"{kind}: whole training step (all gradients, loss)", $"batch {batch}", be =>
            {
                var model = Models.Create(be, new ModelSpec(kind.Name), batch, 1);
                model.Initialise(5);
                if (model is ISupervised supervised)
                    supervised.UseTargets(Up(be, [.. Enumerable.Range(0, batch * supervised.TargetWidth).Select(i => i % supervised.TargetWidth == i / supervised.TargetWidth % supervised.TargetWidth ? 1f : 0f)]));
                var acc = be.Allocate((int)Slot.Count);
                model.TrainStep(Up(be, Unit(batch * 784, 15)), batch, 2, acc);
                return Down(be, model.Parameters.Gradients, acc);
            });
        }
    }

    /// <summary>Two steps as the trainer launches them, on a backend opened to fuse them where the device can (the GPU
    /// kernel set: gather, forward, loss, every gradient and Adam in three launches), against the reference's
    /// kernel-by-kernel step.</summary>
    static IEnumerable<(string Kernel, string Shape, Func<IBackend, float[]> Run)> FusedCases()
    {
        foreach (var kind in new[] { "ae", "vae" })
        {
            yield return ($"{kind}: fused step (GPU kernel set), Adam", "2 steps, batch 128", be =>
            {
                var model = Models.Create(be, new ModelSpec(kind), 128, 1);
                model.Initialise(5);
                var images = Up(be, Unit(300 * 784, 21));
                var order = be.AllocateIndices(300);
                be.Upload(order, Enumerable.Range(0, 300).Select(i => (i * 7919) % 300).ToArray());
                var batch = be.Allocate(128 * 784); var acc = be.Allocate((int)Slot.Count); var flag = be.AllocateIndices(1);
                for (int step = 1; step <= 2; step++)
                    TrainingStep.Launch(be, model, images, order, 100 * (step - 1), 128, step, batch, AdamStep.At(step, 1e-3f),
                        new NonFiniteWatch(acc, (int)Slot.TrainLoss, flag, step), null);
                var flagged = new int[1];
                be.Download(flag, flagged);
                var p = model.Parameters;
                return [.. Down(be, p.Values, p.Gradients, p.FirstMoment, p.SecondMoment, acc), flagged[0]];
            });
        }
    }

    /// <param name="fused">the device opened to fuse dense steps (Backends.OpenFused), for the fused-step rows; without
    /// it they run on <paramref name="device"/>.</param>
    public static IEnumerable<CheckResult> Run(IBackend device, IBackend reference, IBackend? fused = null)
    {
        foreach (var (kernel, shape, run, onFused) in Cases().Select(c => (c.Kernel, c.Shape, c.Run, false))
                     .Concat(FusedCases().Select(c => (c.Kernel, c.Shape, c.Run, true))))
        {
            var expected = run(reference);
            float[] actual = [];
            string? thrown = null;
            // One kernel failing on a new device or driver says nothing about the others: report it and go on.
            try { actual = run(onFused ? fused ?? device : device); }
            catch (Exception e) when (e is not UserError) { thrown = $"{e.GetType().Name}: {e.Message}"; }
            if (thrown is not null)
            {
                yield return new CheckResult(kernel, shape, double.PositiveInfinity, Tolerance, thrown);
                continue;
            }
            double worst = expected.Length == actual.Length ? 0 : double.PositiveInfinity;
            for (int i = 0; i < Math.Min(expected.Length, actual.Length); i++)
            {
                bool bothNaN = float.IsNaN(expected[i]) && float.IsNaN(actual[i]);
                double error = bothNaN ? 0 : Math.Abs(expected[i] - actual[i]) / (1 + Math.Abs(expected[i]));
                if (!(error <= worst)) worst = error; // NaN where the reference has a number counts as a failure
            }
            yield return new CheckResult(kernel, shape, worst, Tolerance);
        }
    }
}
