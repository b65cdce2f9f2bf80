using GpuAe.Kernels;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>The fused dense step (<see cref="FusedDense"/>: two launches for gather, forward, loss, every gradient and
/// Adam) on the GPU-shaped CPU accelerator, against the same step launched kernel by kernel on the scalar reference,
/// and its gradients against central finite differences of its own loss.</summary>
public class FusedStepTests
{
    static IlgpuBackend Fused => (IlgpuBackend)TestBackends.Get("cpu-shared");

    static AutoencoderBase Create(IBackend be, string kind, int maxRows, int features, int hidden, int latent) => kind switch
    {
        "ae-relu" => new Autoencoder(be, maxRows, Activation.Relu, features, hidden, latent),
        "ae-linear" => new Autoencoder(be, maxRows, Activation.None, features, hidden, latent),
        _ => new VariationalAutoencoder(be, maxRows, latent, beta: 1.5f, warmupSteps: 4, features: features, hidden: hidden),
    };

    /// <summary>Two steps (the second with Adam's moments from the first) on rows taken through a shuffled order: the
    /// widths make the kernel take both of its thread layouts (wide layers: a column per thread for all four rows;
    /// narrow: a row and column each), partial weight-gradient tiles, and 37 rows a partial group of rows.
    /// The last two cases are the production widths (784 → 256 → 32 or 2, the notebook's models, which
    /// <see cref="DenseStepLayout.Fits"/> admits and a GPU opened to fuse dense steps runs), on fewer rows than the study's
    /// 128 (37 of 40 as above; more rows only repeat the same per-row work on the CPU accelerator's slow emulated
    /// groups; at 13 rows Adam's first steps amplify rounding past the 2e-5).</summary>
    [Theory]
    [InlineData("ae-relu", 37, 300, 136, 3, 40)]
    [InlineData("ae-linear", 40, 300, 136, 3, 40)]
    [InlineData("vae", 37, 300, 136, 3, 40)]
    [InlineData("ae-relu", 37, 784, 256, 32, 40)]
    [InlineData("vae", 37, 784, 256, 2, 40)]
    public void TwoStepsEqualTheKernelByKernelStepsOnTheReference(string kind, int rows, int features, int hidden, int latent, int maxRows)
    {
        int count = 2 * rows + 16;
        var data = Values.Uniform01(count * features, 61);
        int[] order = [.. Enumerable.Range(0, count).Select(i => (i * 37 + 11) % count)];
        var results = new List<float[]>();
        foreach (var be in new[] { Fused, TestBackends.Get("scalar") })
        {
            var model = Create(be, kind, maxRows, features, hidden, latent);
            model.Initialise(8);
            var images = be.Up(data); var rowsOut = be.Allocate(maxRows * features);
            var tOrder = be.AllocateIndices(count); be.Upload(tOrder, order);
            var sums = be.Allocate((int)Slot.Count); var flag = be.AllocateIndices(1);
            var p = model.Parameters;
            Assert.Equal(be == Fused, model.Fuses);
            for (long step = 1; step <= 2; step++)
                TrainingStep.Launch(be, model, images, tOrder, (int)(step - 1) * (rows + 8), rows, step, rowsOut, AdamStep.At(step, 1e-3f),
                    new NonFiniteWatch(sums, (int)Slot.TrainLoss, flag, step), null);
            var flagged = new int[1];
            be.Download(flag, flagged);
            Assert.Equal(0, flagged[0]);
            results.Add([.. be.Down(p.Gradients), .. be.Down(p.FirstMoment), .. be.Down(p.SecondMoment), .. be.Down(p.Values), be.Down(sums)[(int)Slot.TrainLoss]]);
        }
        // Sums of up to 200 products and 40 rows in another order: float rounding only; an indexing slip is of order 1.
        Values.AssertClose(results[1], results[0], 2e-5, $"{kind}: gradients, moments, parameters and loss after two fused steps");
    }

    /// <summary>The gradients the fused step writes match central differences of the loss it adds up (learning rate 0,
    /// so the parameters stay put; step 1 every time, so the VAE's noise is the same): three entries of every weight
    /// and bias (the first, the last and the largest gradient; each difference costs two steps of ~0.2 s here, whose
    /// group barriers are operating-system waits), on a model with every kind of layer.</summary>
    [Theory]
    [InlineData("ae-relu")]
    [InlineData("vae")]
    public void GradientsMatchFiniteDifferences(string kind)
    {
        const int rows = 6, features = 12;
        var be = Fused;
        var model = Create(be, kind, rows, features, hidden: 6, latent: 2);
        model.Initialise(5);
        // Random non-zero biases keep ReLU pre-activations off their kinks (as in the unfused models' tests).
        be.Upload(model.Parameters.Values, Values.Random(model.Parameters.Length, 52, 0.6f));
        var images = be.Up(Values.Uniform01(rows * features, 53));
        var order = be.AllocateIndices(rows); be.Upload(order, Enumerable.Range(0, rows).ToArray());
        var sums = be.Allocate((int)Slot.Count); var flag = be.AllocateIndices(1);
        double BatchLoss()
        {
            be.Fill(sums, 0f);
            model.TrainFused(images, order, 0, rows, 1, AdamStep.At(1, 0f), new NonFiniteWatch(sums, (int)Slot.TrainLoss, flag, 1), null);
            return be.Down(sums)[(int)Slot.TrainLoss] / rows;
        }
        var host = be.Down(model.Parameters.Values);
        BatchLoss();
        var analytic = be.Down(model.Parameters.Gradients);
        Assert.Equal(host, be.Down(model.Parameters.Values));
        const float eps = 1e-3f;
        foreach (var entry in model.Parameters.Entries)
        {
            var range = Enumerable.Range(entry.Offset, entry.Length);
            int largest = range.MaxBy(i => Math.Abs(analytic[i]));
            foreach (int i in new[] { entry.Offset, largest, entry.Offset + entry.Length - 1 }.Distinct())
            {
                float saved = host[i];
                host[i] = saved + eps; be.Upload(model.Parameters.Values, host); double plus = BatchLoss();
                host[i] = saved - eps; be.Upload(model.Parameters.Values, host); double minus = BatchLoss();
                host[i] = saved; be.Upload(model.Parameters.Values, host);
                double numeric = (plus - minus) / (2 * eps);
                // As for the unfused models: loss ~10 nats in float32, smooth except at ReLU kinks a 1e-3 step seldom crosses.
                Assert.True(Math.Abs(numeric - analytic[i]) <= 3e-3 * (1 + Math.Abs(numeric)),
                    $"{kind}: {entry.Name}[{i - entry.Offset}]: finite differences {numeric:E3}, fused step {analytic[i]:E3}");
            }
            Assert.True(Math.Abs(analytic[largest]) > 1e-3, $"{kind}: {entry.Name}: every gradient ~0, the comparison would be between zeros");
        }
    }
}
