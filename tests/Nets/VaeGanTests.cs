using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>The VAE-GAN: each part's gradient is the gradient of that part's own loss, an update of one part moves no
/// other, training is bit-identical from run to run and across an interruption, and a collapsed game stops training.</summary>
public class VaeGanTests : TempFolderTest
{
    const int Rows = 2;

    /// <summary>A VAE-GAN with its initial Glorot weights and biases of ±0.3 (zero biases put many units on their kinks),
    /// and γ = 0.15: at these weights the decoder's gradients of L_llike and of −L_GAN have norms 1.6 and 0.11, so with
    /// γ = 0.15 both terms are a good share of it (dropping γ·L_llike, or flipping −L_GAN's sign, fails the finite
    /// differences below: tried).</summary>
    static VaeGan Tiny(IBackend be, float gamma = 0.15f, AdversarialSettings? settings = null)
    {
        var model = new VaeGan(be, Rows, latent: 2, beta: 1f, warmupSteps: 0, settings ?? new AdversarialSettings(Gamma: gamma));
        model.Initialise(3);
        var p = model.Parameters;
        var values = be.Down(p.Values);
        var signs = Values.Random(p.Length, 91, 1f);
        foreach (var e in p.Entries.Where(e => e.Name.EndsWith(".bias")))
            for (int i = 0; i < e.Length; i++) values[e.Offset + i] = MathF.CopySign(0.3f, signs[e.Offset + i]);
        be.Upload(p.Values, values);
        return model;
    }

    /// <summary>The three losses of one step at the parameters now (step 1: the same noise every time), per image:
    /// the encoder's β·KL + L_llike, the decoder's γ·L_llike − L_GAN, the discriminator's L_GAN (its cross-entropy).</summary>
    static Dictionary<string, double> PartLosses(IBackend be, VaeGan model, Tensor x, Tensor acc)
    {
        be.Fill(acc, 0f);
        model.TrainStep(x, Rows, 1, acc);
        var sums = be.Down(acc);
        double llike = sums[(int)Slot.FeatureError], gan = sums[(int)Slot.DiscriminatorLoss];
        return new()
        {
            ["encoder"] = sums[(int)Slot.TrainLoss] / Rows,
            ["decoder"] = (model.Settings.Gamma * llike - gan) / Rows,
            ["discriminator"] = gan / Rows,
        };
    }

    /// <summary>Every part's gradient, as the step writes it, against central differences of that part's own loss, on
    /// the CPU accelerator: six entries of every weight and bias (the first, the last, the largest gradient and three
    /// spread between). This is the routing test too: a GAN term in the encoder's gradient, an L_llike term in the
    /// discriminator's, a missing or unweighted γ·L_llike or a wrong sign of −L_GAN in the decoder's would each be an
    /// error of the gradient's own size here.</summary>
    [Fact]
    public void EachPartsGradientMatchesFiniteDifferencesOfItsOwnLoss()
    {
        var be = Cpu.Backend;
        var model = Tiny(be);
        var p = model.Parameters;
        var x = be.Up(Values.Uniform01(Rows * 784, 92));
        var acc = be.Allocate((int)Slot.Count);
        var host = be.Down(p.Values);
        var losses = PartLosses(be, model, x, acc);
        var analytic = be.Down(p.Gradients);
        Assert.All(losses.Values, l => Assert.True(double.IsFinite(l)));
        // The step and the error floor of each part's differences. Its losses are ~2.5 nats in float32, so rounding
        // alone is ~2.5·6e-8 / step. The encoder's and discriminator's first layers see the images: a step past 1e-3
        // moves hundreds of ReLU inputs across their kinks (1e-3: errors up to 3e-4 measured). The decoder's gradients
        // are ten times smaller (its losses reach it through the discriminator), so it takes 1e-2, where rounding is
        // 1.5e-5 and the kinks of its smoother inputs cost less (errors up to 5e-5 measured).
        var steps = new Dictionary<string, (float Eps, double Floor)> { ["encoder"] = (1e-3f, 5e-4), ["decoder"] = (1e-2f, 1e-4), ["discriminator"] = (1e-3f, 5e-4) };
        foreach (var part in model.Parts)
        {
            var (eps, floor) = steps[part.Name];
            foreach (var entry in p.Entries.Where(e => e.Offset >= part.Offset && e.Offset < part.Offset + part.Length))
            {
                var range = Enumerable.Range(entry.Offset, entry.Length);
                int largest = range.MaxBy(i => Math.Abs(analytic[i]));
                int[] chosen = [entry.Offset, largest, entry.Offset + entry.Length - 1, .. Enumerable.Range(1, 3).Select(k => entry.Offset + k * entry.Length / 4)];
                foreach (int i in chosen.Distinct())
                {
                    float saved = host[i];
                    host[i] = saved + eps; be.Upload(p.Values, host); double plus = PartLosses(be, model, x, acc)[part.Name];
                    host[i] = saved - eps; be.Upload(p.Values, host); double minus = PartLosses(be, model, x, acc)[part.Name];
                    host[i] = saved; be.Upload(p.Values, host);
                    double numeric = (plus - minus) / (2 * eps);
                    // The floor, or 2 % (O(eps²) curvature and the odd kink) of the larger entries.
                    Assert.True(Math.Abs(numeric - analytic[i]) <= floor + 0.02 * Math.Abs(numeric),
                        $"{part.Name}: {entry.Name}[{i - entry.Offset}]: finite differences of its loss {numeric:E3}, step's gradient {analytic[i]:E3}");
                }
                Assert.True(Math.Abs(analytic[largest]) > 5 * floor, $"{entry.Name}: every gradient ~0 ({analytic[largest]:E2}), the comparison would be between zeros");
            }
        }
    }

    /// <summary>The parts tile the parameters (every weight and bias in exactly one, in the order encoder, decoder,
    /// discriminator), and Adam on one part leaves every value of the other two bit-identical while it moves its own.</summary>
    [Fact]
    public void AnUpdateOfOnePartLeavesTheOthersBitIdentical()
    {
        var be = TestBackends.Get("simd512");
        var model = Tiny(be);
        var p = model.Parameters;
        Assert.Equal(["encoder", "decoder", "discriminator"], model.Parts.Select(part => part.Name));
        foreach (var entry in p.Entries)
            Assert.Single(model.Parts, part => entry.Offset >= part.Offset && entry.Offset + entry.Length <= part.Offset + part.Length);
        model.TrainStep(be.Up(Values.Uniform01(Rows * 784, 93)), Rows, 1, be.Allocate((int)Slot.Count));
        var gradients = be.Down(p.Gradients);
        foreach (var part in model.Parts)
        {
            var before = be.Down(p.Values);
            part.Update(be, p, AdamStep.At(1, 1f));
            var after = be.Down(p.Values);
            for (int i = 0; i < p.Length; i++)
            {
                bool inside = i >= part.Offset && i < part.Offset + part.Length;
                if (!inside) Assert.True(BitConverter.SingleToInt32Bits(before[i]) == BitConverter.SingleToInt32Bits(after[i]), $"{part.Name}'s update changed parameter {i}");
                else if (Math.Abs(gradients[i]) > 1e-6) Assert.True(before[i] != after[i], $"{part.Name}'s update left its parameter {i}, whose gradient is {gradients[i]}");
            }
            Assert.Contains(Enumerable.Range(part.Offset, part.Length), i => Math.Abs(gradients[i]) > 1e-6);
        }
    }

    /// <summary>γ weighs L_llike in the decoder's loss alone: changing it changes the decoder's gradients and leaves the
    /// encoder's and the discriminator's bit-identical (the discriminator is not trained on L_llike, the encoder on
    /// L_llike unweighted).</summary>
    [Fact]
    public void GammaReachesTheDecoderAlone()
    {
        var be = TestBackends.Get("simd512");
        var x = Values.Uniform01(Rows * 784, 94);
        var gradients = new[] { 0.01f, 10f }.Select(gamma =>
        {
            var model = Tiny(be, gamma);
            model.TrainStep(be.Up(x), Rows, 1, be.Allocate((int)Slot.Count));
            return (model.Parts, Gradients: be.Down(model.Parameters.Gradients));
        }).ToArray();
        foreach (var part in gradients[0].Parts)
        {
            var a = gradients[0].Gradients.AsSpan(part.Offset, part.Length).ToArray();
            var b = gradients[1].Gradients.AsSpan(part.Offset, part.Length).ToArray();
            if (part.Name == "decoder") Assert.NotEqual(a, b);
            else Assert.Equal(a, b);
        }
    }

    static readonly Dataset Test = RealData.Test.Take(64);

    sealed class Recorder(Action<StepProgress>? onProgress = null) : ITrainingReporter
    {
        public void Message(string text) { }
        public void Progress(StepProgress progress) => onProgress?.Invoke(progress);
        public void EpochDone(ModelKind model, int epochs, EpochMetrics metrics) { }
    }

    static EpochMetrics[] WithoutSeconds(IEnumerable<EpochMetrics> epochs) => epochs.Select(e => e with { Seconds = 0 }).ToArray();

    static Dictionary<string, float[]> Tensors(string folder) =>
        SafeTensors.Read(Path.Combine(folder, Checkpoint.FileName)).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Data);

    /// <summary>Two runs of the same flags give bit-identical weights, moments and metrics (the adversarial columns
    /// included), on the SIMD backend and on ILGPU's CPU accelerator: 2 epochs of 3 steps.</summary>
    [Theory, InlineData("simd512"), InlineData("cpu")]
    public void TwoRunsAreBitIdentical(string backend)
    {
        var be = TestBackends.Get(backend);
        var runs = new[] { "first", "second" }.Select(name =>
        {
            string folder = Path.Combine(Folder, name);
            var (_, epochs) = TrainingSession.Run(be, new ModelSpec("vae-gan"), new TrainOptions(2, 32, 1e-3f, 7), RealData.Train.Take(96), Test, folder, new Recorder(), default);
            return (Folder: folder, Epochs: epochs);
        }).ToArray();
        Assert.All(runs[0].Epochs, e => Assert.NotNull(e.Adversarial));
        Assert.Equal(WithoutSeconds(runs[0].Epochs), WithoutSeconds(runs[1].Epochs));
        Assert.Equal(Tensors(runs[0].Folder), Tensors(runs[1].Folder));
    }

    /// <summary>A run interrupted mid-epoch and resumed gives the uninterrupted run's weights, moments and metrics: the
    /// interrupted epoch's adversarial sums travel in the checkpoint with its loss sum.</summary>
    [Fact]
    public void AResumedRunEqualsAnUninterruptedOneAdversarialColumnsIncluded()
    {
        var be = TestBackends.Get("simd512");
        var train = RealData.Train.Take(480);
        var options = new TrainOptions(2, 16, 1e-3f, 6); // 30 steps an epoch
        string whole = Path.Combine(Folder, "whole"), parts = Path.Combine(Folder, "parts");
        var (_, expected) = TrainingSession.Run(be, new ModelSpec("vae-gan"), options, train, Test, whole, new Recorder(), default);
        using var stop = new CancellationTokenSource();
        var interrupted = new Recorder(p => { if (p.Step == 20) stop.Cancel(); }); // as Ctrl-C during step 20, mid-epoch 1
        TrainingSession.Run(be, new ModelSpec("vae-gan"), options, train, Test, parts, interrupted, stop.Token);
        var metadata = SafeTensors.Read(Path.Combine(parts, Checkpoint.FileName)).Metadata;
        Assert.Equal("320", metadata["next_row"]);
        Assert.Equal((int)Slot.Count, metadata["sums"].Split(',').Length);
        var (_, resumed) = TrainingSession.Resume(be, parts, null, train, Test, new Recorder(), default);
        Assert.Equal(WithoutSeconds(expected), WithoutSeconds(resumed));
        Assert.Equal(Tensors(whole), Tensors(parts));
        Assert.Equal(WithoutSeconds(MetricsCsv.Read(Path.Combine(whole, "metrics.csv"))), WithoutSeconds(MetricsCsv.Read(Path.Combine(parts, "metrics.csv"))));
    }

    static EpochMetrics Epoch(int epoch, double accuracyReal, double accuracyGenerated, double discriminatorLoss = 1.5) =>
        new(epoch, 1, 100, 300, 290, 10, 0.05, 285, Adversarial: new AdversarialMetrics(50, discriminatorLoss, -1, 0.7, 0.3, 0.2, accuracyReal, accuracyGenerated));

    /// <summary>The watch's verdicts: a healthy game, a discriminator that wins outright (≥ 99.9 % right on both kinds of
    /// image), and one that is lost (≤ 0.1 % right on one kind, or a loss of 3·ln 1000 nats or more, or NaN); and its
    /// stop only after the given number of collapsed epochs in a row, never with 0.</summary>
    [Fact]
    public void TheCollapseWatchStopsAfterItsEpochsInARowAtEitherEnd()
    {
        var healthy = Epoch(1, 0.95, 0.97);
        var wins = Epoch(2, 1.0, 0.9995);
        Assert.Null(CollapseWatch.Symptom(healthy.Adversarial!));
        Assert.Null(CollapseWatch.Symptom(Epoch(1, 0.9985, 1.0).Adversarial!)); // 99.85 % of the real: not pinned
        Assert.StartsWith("the discriminator wins outright", CollapseWatch.Symptom(wins.Adversarial!));
        Assert.StartsWith("the discriminator is lost", CollapseWatch.Symptom(Epoch(1, 1.0, 0.0005).Adversarial!));
        Assert.StartsWith("the discriminator is lost", CollapseWatch.Symptom(Epoch(1, 0.6, 0.4, discriminatorLoss: 21).Adversarial!));
        Assert.StartsWith("the discriminator is lost", CollapseWatch.Symptom(Epoch(1, 0.6, 0.4, discriminatorLoss: double.NaN).Adversarial!));
        Assert.Null(CollapseWatch.Symptom(Epoch(1, 0.6, 0.4, discriminatorLoss: 20).Adversarial!)); // 3·ln 1000 = 20.72

        Assert.Null(CollapseWatch.Stop([healthy, wins], 2));
        Assert.Null(CollapseWatch.Stop([wins with { Epoch = 1 }, healthy with { Epoch = 2 }, wins with { Epoch = 3 }], 2)); // a streak broken
        Assert.StartsWith("the adversarial game collapsed in epochs 2–3: the discriminator wins outright",
            CollapseWatch.Stop([healthy, wins, wins with { Epoch = 3 }], 2));
        Assert.StartsWith("the adversarial game collapsed in epoch 2:", CollapseWatch.Stop([healthy, wins], 1));
        Assert.Null(CollapseWatch.Stop([wins, wins, wins], 0));
    }

    /// <summary>Forced collapses are caught and stop training with one line, the last checkpoint before them kept and the
    /// epoch that tripped the watch in metrics.csv with collapse = 1. A generator that does not learn (decoder rate
    /// 1e-12: it keeps its first, constant-looking output) against a discriminator at 1e-2 is beaten outright by the third
    /// epoch (measured: 100 % right on both kinds); a discriminator at rate 1 blows its logits up in the first epoch
    /// (measured: a loss of ~7·10⁵ nats per image) and is lost.</summary>
    [Theory]
    [InlineData(1e-12f, 1e-2f, "the discriminator wins outright")]
    [InlineData(3e-4f, 1f, "the discriminator is lost")]
    public void AForcedCollapseStopsTrainingWithOneLine(float decoderRate, float discriminatorRate, string symptom)
    {
        var be = TestBackends.Get("simd512");
        var spec = new ModelSpec("vae-gan", Adversarial: new AdversarialSettings(DecoderRate: decoderRate, DiscriminatorRate: discriminatorRate));
        var stopped = Assert.Throws<UserError>(() =>
            TrainingSession.Run(be, spec, new TrainOptions(6, 64, 1e-3f, 42, CollapseEpochs: 1), RealData.Train.Take(512), Test, Folder, new Recorder(), default));
        Assert.StartsWith("training stopped: the adversarial game collapsed in epoch ", stopped.Message);
        Assert.Contains(symptom, stopped.Message);
        var lines = File.ReadAllLines(Path.Combine(Folder, "metrics.csv"));
        Assert.Equal(MetricsCsv.AdversarialHeader, lines[0]);
        Assert.InRange(lines.Length - 1, 1, 5); // it stopped before the sixth epoch
        Assert.Equal([.. Enumerable.Repeat("0", lines.Length - 2), "1"], lines.Skip(1).Select(l => l.Split(',')[^1]));
        int last = lines.Length - 1;
        if (last == 1) Assert.Contains("no checkpoint had been written yet", stopped.Message);
        else Assert.Equal($"{last - 1}", SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName)).Metadata["epoch"]);
    }
}
