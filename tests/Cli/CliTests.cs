using GpuAe.Cli;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets;
using GpuAe.Nets.Training;
using Xunit;

namespace GpuAe.Tests.Cli;

/// <summary>The `gpuae` program as a user meets it: exit codes, one-line errors, files written.</summary>
public class CliTests : TempFolderTest
{

    static (int Exit, string Out, string Err) Run(params string[] args) => Gpuae.Run(args);

    static void AssertUserError((int Exit, string Out, string Err) result, string expectedText)
    {
        Assert.Equal(2, result.Exit);
        Assert.Contains(expectedText, result.Err);
        Assert.Single(result.Err.Trim().Split('\n')); // one line, no stack trace
    }

    [Fact]
    public void TrainWritesMetricsCsvAndWeights()
    {
        var (exit, output, error) = Run("train", "ae", "--epochs", "1", "--limit", "256", "--device", "cpu", "--out", Folder);
        Assert.True(exit == 0, error);
        Assert.Contains("epoch   1/1", output);
        var lines = File.ReadAllLines(Path.Combine(Folder, "metrics.csv"));
        Assert.Equal("epoch,seconds,train_loss,test_loss,test_bce,test_kl,test_mse,test_bce_mu", lines[0]);
        var fields = lines[1].Split(',');
        Assert.Equal(8, fields.Length);
        Assert.Equal("1", fields[0]);
        Assert.Equal("0", fields[5]); // test_kl is 0 for the AE
        Assert.Equal(double.Parse(fields[3]), double.Parse(fields[4])); // AE: test loss = test BCE
        Assert.Equal(double.Parse(fields[4]), double.Parse(fields[7])); // and its reconstruction is deterministic: BCE = BCE from the code
        var contents = SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName));
        Assert.Equal([256, 784], contents.Tensors["encoder.0.weight"].Shape);
        Assert.Equal("ae", contents.Metadata["model"]);
    }

    [Fact]
    public void MissingDataFolderIsAOneLineErrorWithTheFix()
    {
        string missing = Path.Combine(Folder, "no-data");
        AssertUserError(Run("train", "ae", "--data", missing, "--out", Folder), "./setup.sh");
        Assert.Contains(missing, Run("train", "ae", "--data", missing, "--out", Folder).Err);
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs must be at least 1")]
    [InlineData("--batch", "0", "--batch must be at least 1")]
    [InlineData("--batch", "70000", "larger than the 60000 training images")]
    [InlineData("--lr", "0", "--lr must be a positive number")]
    [InlineData("--lr", "-1", "--lr must be a positive number")]
    public void BadNumbersAreOneLineErrors(string flag, string value, string expected) =>
        AssertUserError(Run("train", "ae", flag, value, "--out", Folder), expected);

    [Theory]
    [InlineData("--models", "ae,gan", "'gan' is not a model of the study")]
    [InlineData("--models", "ae,vae,classifier", "'classifier' is not a model of the study")]
    [InlineData("--models", "ae,conv-ae", "must include ae and vae")]
    [InlineData("--models", "ae,vae,ae", "lists a model twice")]
    [InlineData("--betas", "0.5,x", "'x' is not a number")]
    [InlineData("--betas", "1,-2", "--betas must be positive")]
    [InlineData("--beta-epochs", "0", "--beta-epochs must be at least 1")]
    [InlineData("--seeds", "0", "--seeds must be at least 1")]
    [InlineData("--latents", "8,32", "--latents must include 2")]
    [InlineData("--latents", "2,x", "'x' is not a number")]
    [InlineData("--latents", "2,2", "lists a width twice")]
    [InlineData("--latents", "2,0", "--latents must be positive")]
    public void BadReportModelsAndBetasAreOneLineErrors(string flag, string value, string expected) =>
        AssertUserError(Run("report", flag, value, "--out", Folder), expected);

    /// <summary>One list syntax for every list flag: commas, spaces, or both.</summary>
    [Theory]
    [InlineData("--latents", "2", "x")]
    [InlineData("--latents", "2,4", "x")]
    [InlineData("--betas", "1", "x,2")]
    [InlineData("--manifold-p", "0.1", "x")]
    public void ListsTakeCommasAndSpaces(string flag, string first, string second) =>
        AssertUserError(Run("report", flag, first, second, "--out", Folder), $"{flag}: 'x' is not a number");

    [Theory]
    [InlineData("train", "ae")]
    [InlineData("bench")]
    [InlineData("check")]
    public void AnUnknownDeviceIsRefusedByName(params string[] command) =>
        AssertUserError(Run([.. command, "--device", "gpu"]), "'gpu'");

    /// <summary>--latent sets the AE's code width too: a 2-D AE, its checkpoint says so and eval rebuilds it.</summary>
    [Fact]
    public void LatentFlagTrainsA2DAe()
    {
        var (exit, _, error) = Run("train", "ae", "--latent", "2", "--code-activation", "linear", "--epochs", "1", "--limit", "256", "--device", "simd", "--out", Folder);
        Assert.True(exit == 0, error);
        var contents = SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName));
        Assert.Equal("2", contents.Metadata["code"]);
        Assert.Equal("linear", contents.Metadata["code_activation"]);
        Assert.Equal([2, 256], contents.Tensors["encoder.2.weight"].Shape);
        Assert.Equal([256, 2], contents.Tensors["decoder.0.weight"].Shape);
        var (evalExit, _, evalError) = Run("eval", Folder, "--device", "simd");
        Assert.True(evalExit == 0, evalError);
    }

    /// <summary>--seed and --kl-warmup reach the checkpoint (the warm-up as steps: 2 epochs of ⌈1,000 / 128⌉ = 8), and
    /// eval.json holds the run's numbers: the test loss that training's last epoch wrote (the evaluation noise is keyed by
    /// image and sample, so the same), the IWAE bound with the k asked for, below the sampled −ELBO, the test data the
    /// run saw. Untested before (issue 36).</summary>
    [Fact]
    public void SeedAndWarmupReachTheCheckpointAndEvalJsonHoldsTheRunsNumbers()
    {
        var (exit, _, error) = Run("train", "vae", "--epochs", "1", "--limit", "1000", "--seed", "3", "--kl-warmup", "2", "--device", "simd", "--out", Folder);
        Assert.True(exit == 0, error);
        var metadata = SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName)).Metadata;
        Assert.Equal(("3", "16"), (metadata["seed"], metadata["warmup_steps"]));
        var trained = MetricsCsv.Read(Path.Combine(Folder, "metrics.csv"))[^1];

        var (evalExit, _, evalError) = Run("eval", Folder, "--iwae-k", "4", "--device", "simd");
        Assert.True(evalExit == 0, evalError);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "eval.json")));
        var e = json.RootElement;
        Assert.Equal("vae", e.GetProperty("model").GetString());
        Assert.Equal(10_000, e.GetProperty("test_images").GetInt32());
        Assert.Equal(trained.TestLoss, e.GetProperty("test_loss").GetDouble(), 1e-3);
        Assert.Equal(trained.TestKl, e.GetProperty("test_kl").GetDouble(), 1e-4);
        Assert.Equal(trained.TestMse, e.GetProperty("test_mse").GetDouble(), 1e-7);
        Assert.Equal(4, e.GetProperty("iwae_k").GetInt32());
        Assert.InRange(e.GetProperty("iwae_bound").GetDouble(), trained.TestBce * 0.9, trained.TestLoss);
        Assert.True(e.GetProperty("test_data_matches_run").GetBoolean());
    }

    /// <summary>--test-limit scores on the first N test images: training's per-epoch test loss and eval.json's are the
    /// same number on the same 300 images (and not the full set's); the run's test images are its own, so a resume or an
    /// eval on other test images says so; 0 is refused.</summary>
    [Fact]
    public void TestLimitScoresOnTheFirstTestImagesAndTheRunRemembersThem()
    {
        var (exit, _, error) = Run("train", "ae", "--epochs", "1", "--limit", "512", "--test-limit", "300", "--device", "simd", "--out", Folder);
        Assert.True(exit == 0, error);
        var trained = MetricsCsv.Read(Path.Combine(Folder, "metrics.csv"))[^1];
        Assert.Equal(GpuAe.Tests.Nets.RealData.Test.Take(300).Fingerprint,
            SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName)).Metadata["test_sha256"]);

        Assert.Equal(0, Run("eval", Folder, "--iwae-k", "0", "--test-limit", "300", "--device", "simd").Exit);
        using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "eval.json"))))
        {
            Assert.Equal(300, json.RootElement.GetProperty("test_images").GetInt32());
            Assert.Equal(trained.TestLoss, json.RootElement.GetProperty("test_loss").GetDouble(), 1e-3);
            Assert.True(json.RootElement.GetProperty("test_data_matches_run").GetBoolean());
        }
        var (_, full, _) = Run("eval", Folder, "--iwae-k", "0", "--device", "simd");
        Assert.Contains("these test images differ from the ones the run was evaluated on", full);

        AssertUserError(Run("train", "ae", "--resume", Folder, "--epochs", "2", "--limit", "512", "--device", "simd"),
            "was scored on other test images");
        Assert.Equal(0, Run("train", "ae", "--resume", Folder, "--epochs", "2", "--limit", "512", "--test-limit", "300", "--device", "simd").Exit);
        AssertUserError(Run("train", "ae", "--epochs", "1", "--test-limit", "0", "--out", Path.Combine(Folder, "none")), "--test-limit must be at least 1 (got 0)");
    }

    [Fact]
    public void ManifoldProbabilitiesOutOfOrderAreRefused()
    {
        AssertUserError(Run("report", "--manifold-p", "0.6,0.4", "--out", Folder), "--manifold-p must be two probabilities 0 < low < high < 1 (got 0.6, 0.4)");
        AssertUserError(Run("report", "--manifold-p", "0,0.5", "--out", Folder), "--manifold-p must be two probabilities");
    }

    [Fact]
    public void TrainsTheConvolutionalAe()
    {
        var (exit, output, error) = Run("train", "conv-ae", "--epochs", "1", "--limit", "256", "--device", "simd", "--out", Folder);
        Assert.True(exit == 0, error);
        Assert.Contains("conv-ae epoch   1/1", output);
        var contents = SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName));
        Assert.Equal("conv-ae", contents.Metadata["model"]);
        Assert.Equal([32, 3, 3, 1], contents.Tensors["encoder.0.weight"].Shape);
        var (evalExit, evalOutput, evalError) = Run("eval", Folder, "--device", "simd");
        Assert.True(evalExit == 0, evalError);
        Assert.Contains("conv-ae on", evalOutput);
    }

    /// <summary>`gpuae train vae-gan` writes metrics.csv with the adversarial columns and a checkpoint that eval, decode
    /// and sample read; its flags are refused where they would be ignored.</summary>
    [Fact]
    public void TrainsTheVaeGanAndItsCheckpointIsEvaluatedDecodedAndSampled()
    {
        var (exit, output, error) = Run("train", "vae-gan", "--epochs", "1", "--limit", "256", "--gamma", "0.5", "--lr-dis", "1e-4", "--device", "simd", "--out", Folder);
        Assert.True(exit == 0, error);
        Assert.Contains("learning rates encoder 0.0003, decoder 0.0003, discriminator 0.0001", output);
        Assert.Contains("vae-gan epoch   1/1", output);
        var lines = File.ReadAllLines(Path.Combine(Folder, "metrics.csv"));
        Assert.Equal("epoch,seconds,train_loss,test_loss,test_bce,test_kl,test_mse,test_bce_mu,train_llike,train_dis_loss,train_gen_loss," +
                     "d_real,d_recon,d_prior,d_accuracy_real,d_accuracy_fake,collapse", lines[0]);
        Assert.Equal(17, lines[1].Split(',').Length);
        var metadata = SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName)).Metadata;
        Assert.Equal(("vae-gan", "0.5", "0.0001"), (metadata["model"], metadata["gamma"], metadata["lr_discriminator"]));

        var evaluated = Run("eval", Folder, "--iwae-k", "0", "--device", "simd");
        Assert.True(evaluated.Exit == 0, evaluated.Err);
        Assert.Contains("vae-gan on 10000 test images", evaluated.Out);
        var decoded = Run("decode", Folder, "--z", "0.5,-1", "--device", "simd");
        Assert.True(decoded.Exit == 0, decoded.Err);
        Assert.Equal(28, decoded.Out.Trim().Split('\n').Length);
        string grid = Path.Combine(Folder, "samples.png");
        var sampled = Run("sample", Folder, "--n", "20", "--out", grid, "--device", "simd");
        Assert.True(sampled.Exit == 0, sampled.Err);
        Assert.True(File.Exists(grid));

        AssertUserError(Run("train", "vae-gan", "--lr", "1e-3", "--limit", "256", "--out", Folder), "(vae-gan: --lr-enc, --lr-dec, --lr-dis)");
        AssertUserError(Run("train", "vae-gan", "--resume", Folder, "--lr-dis", "1e-3", "--limit", "256"), "leave out --lr-dis");
        AssertUserError(Run("train", "vae-gan", "--lr-dec", "0", "--limit", "256", "--out", Folder), "--lr-dec must be a positive number");
        AssertUserError(Run("train", "vae-gan", "--collapse-epochs", "-1", "--limit", "256", "--out", Folder), "--collapse-epochs must be 0");
    }

    [Fact]
    public void UnknownModelAndDeviceAreOneLineErrors()
    {
        AssertUserError(Run("train", "gan"), "gan");
        AssertUserError(Run("train", "ae", "--device", "tpu", "--epochs", "1", "--limit", "128", "--out", Folder), "'tpu' not recognized");
    }

    [Fact]
    public void CudaWithoutCudaListsTheDevicesFound()
    {
        // No CI machine has CUDA; where one does, this test has nothing to prove.
        if (Backends.List().Any(d => d.Kind == "cuda")) return;
        var result = Run("train", "ae", "--device", "cuda", "--epochs", "1", "--limit", "128", "--out", Folder);
        AssertUserError(result, "no usable cuda device; devices found: ");
        Assert.Contains("cpu: ILGPU CPU accelerator", result.Err); // (an OpenCL device, usable or not, may come before it)
    }

    [Fact]
    public void DevicesListsTheCpuAccelerator()
    {
        var (exit, output, _) = Run("devices");
        Assert.Equal(0, exit);
        Assert.Contains("cpu     usable", output);
    }

    [Fact]
    public void AbsurdLearningRateStopsAtTheStepTheLossBecomesNaNAndKeepsTheGoodCheckpoint()
    {
        var ok = Run("train", "ae", "--epochs", "1", "--limit", "256", "--out", Folder);
        Assert.Equal(0, ok.Exit);
        var good = File.ReadAllBytes(Path.Combine(Folder, "model.safetensors"));
        var result = Run("train", "ae", "--epochs", "1", "--limit", "256", "--lr", "1e30", "--out", Folder);
        AssertUserError(result, "the loss became NaN or infinite at step ");
        Assert.Contains("is intact", result.Err);
        Assert.Equal(good, File.ReadAllBytes(Path.Combine(Folder, "model.safetensors")));
    }

    [Fact]
    public void JsonPrintsOneRecordPerEpoch()
    {
        var (exit, output, error) = Run("train", "vae", "--epochs", "2", "--limit", "256", "--json", "--out", Folder);
        Assert.True(exit == 0, error);
        var lines = output.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        using var record = System.Text.Json.JsonDocument.Parse(lines[1]);
        Assert.Equal(2, record.RootElement.GetProperty("epoch").GetInt32());
        Assert.True(record.RootElement.GetProperty("test_kl").GetDouble() > 0);
        Assert.Equal("", Run("train", "ae", "--epochs", "1", "--limit", "256", "--quiet", "--out", Folder).Out);
    }

    [Fact]
    public void ResumeContinuesAndChecksTheModelKind()
    {
        Assert.Equal(0, Run("train", "ae", "--epochs", "1", "--limit", "256", "--out", Folder).Exit);
        AssertUserError(Run("train", "vae", "--resume", Folder), "holds a 'ae' model, not 'vae'");
        var resumed = Run("train", "ae", "--resume", Folder, "--epochs", "2", "--limit", "256");
        Assert.True(resumed.Exit == 0, resumed.Err);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(Folder, "metrics.csv")).Length);
        AssertUserError(Run("train", "ae", "--resume", Folder, "--epochs", "3"), "pass the same --limit");
        AssertUserError(Run("train", "ae", "--resume", Path.Combine(Folder, "nothing")), "no checkpoint");
    }

    [Fact]
    public void CorruptCheckpointAndUnwritableOutputAreOneLineErrors()
    {
        File.WriteAllText(Path.Combine(Folder, "model.safetensors"), "garbage");
        AssertUserError(Run("eval", Folder), "not a readable safetensors checkpoint");
        File.WriteAllText(Path.Combine(Folder, "a-file"), "");
        AssertUserError(Run("train", "ae", "--epochs", "1", "--limit", "256", "--out", Path.Combine(Folder, "a-file", "run")), "cannot write to output folder");
        AssertUserError(Run("train", "vae", "--beta", "-1", "--out", Folder), "--beta must be 0 or more");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("simd")]
    public void CheckRunsEveryKernelAgainstTheReference(string device)
    {
        var (exit, output, error) = Run("check", "--device", device);
        Assert.True(exit == 0, output + error);
        var lines = output.Trim().Split('\n');
        Assert.Equal("all kernels agree with the reference", lines[^1].Trim());
        // Every row: "<kernel> <shape> <max rel. error> ok", the error a finite number within the check's 1e-4. Mutant
        // caught: a comparison that lets NaN through (`error > tolerance` is false for NaN) prints "NaN ok".
        var rows = lines[2..^1];
        foreach (var row in rows)
        {
            var fields = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(fields[^1] == "ok", row);
            Assert.True(double.TryParse(fields[^2], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double e)
                        && double.IsFinite(e) && e <= 1e-4, row);
        }
        // Every kernel family, every model's whole step and every step-record epoch has its row.
        string[] families =
        [
            "dense forward (None)", "dense forward (Relu)", "dense backward dX", "dense backward dX + ReLU mask", "dense backward dW, db", "im2col",
            "col2im + ReLU mask", "bias + ReLU, column sums", "sigmoid + BCE + gradient", "softmax cross-entropy + gradient", "sigmoid ",
            "sigmoid backward, add scaled", "leaky ReLU + backward", "half squared error + gradient", "binary correct", "copy columns", "accumulate sum",
            "gather rows", "Adam + NaN flag", "normal noise + reparameterisation", "reparameterisation backward + KL", "IWAE log-weights + log-mean-exp",
            "step record: begin step", "ae: epoch by the step record", "vae: epoch by the step record", "vae-gan: epoch by the step record",
            .. new[] { "ae", "vae", "conv-ae", "conv-vae", "cvae", "vae-gan" }.Select(m => $"{m}: whole training step"),
        ];
        foreach (var family in families) Assert.Contains(rows, r => r.StartsWith(family, StringComparison.Ordinal));
    }

    [Fact]
    public void BenchPrintsTheDeviceAndEveryKernel()
    {
        var (exit, output, error) = Run("bench", "--device", "simd", "--steps", "2", "--model", "vae");
        Assert.True(exit == 0, error);
        Assert.Contains("device: SIMD host backend", output);
        Assert.Contains("GFLOP/s", output);
        Assert.Contains("vae training step (batch 128, launched kernel by kernel)", output);
        Assert.Contains("launch (fill 1 float)", output);
        Assert.Contains("host ms", output);
    }

    /// <summary>`bench --epoch` times a whole epoch and an evaluation: the numbers are printed, positive and finite, and
    /// the epoch's training loss is a number of nats in a plausible range (its images are synthetic noise, so it stays near
    /// the untrained ~543). Untested before (issue 36).</summary>
    [Fact]
    public void BenchEpochTimesAWholeEpochAndAnEvaluation()
    {
        var (exit, output, error) = Run("bench", "--device", "simd", "--steps", "1", "--model", "ae", "--epoch");
        Assert.True(exit == 0, error);
        var epoch = System.Text.RegularExpressions.Regex.Match(output,
            @"ae measured epoch \(60,000 images[^)]*\): ([0-9.]+) s \(([0-9.]+) GFLOP/s\), training loss ([0-9.]+); evaluation of 10,000 images: ([0-9.]+) s");
        Assert.True(epoch.Success, output);
        double Number(int group) => double.Parse(epoch.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(new[] { 1, 2, 4 }, g => Assert.True(Number(g) > 0 && double.IsFinite(Number(g)), epoch.Value));
        Assert.InRange(Number(3), 100, 1000);
        Assert.Matches(@"ae \d+ synthetic steps back to back \(launched kernel by kernel\): [0-9.]+ s", output);
    }

    /// <summary>`bench gemms` lists the VAE step's GEMMs with their layouts, the 2- and 4-wide ones included, in the
    /// space-separated form bench/compare-pytorch.sh reads, and only on the SIMD backend.</summary>
    [Fact]
    public void BenchGemmsListsEveryGemmShapeOfTheStep()
    {
        var (exit, output, error) = Run("bench", "gemms", "--model", "vae");
        Assert.True(exit == 0, error);
        var shapes = output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length == 8 && f[0] == "gemm")
            .Select(f => $"{f[1]} {f[2]} {f[3]} {f[4]}").ToList();
        // The 784 → 256 → 4 encoder and 2 → 256 → 784 decoder: forward x·Wᵀ, dX = dY·W, dW = dYᵀ·X per layer (no dX for the first).
        foreach (var shape in new[] { "A·Bᵀ 128 256 784", "A·Bᵀ 128 4 256", "A·Bᵀ 128 256 2", "A·B 128 2 256", "Aᵀ·B 4 256 128", "Aᵀ·B 256 784 128" })
            Assert.Contains(shape, shapes);
        Assert.Equal(11, shapes.Count);
        AssertUserError(Run("bench", "gemms", "--device", "cpu"), "--device");
    }

    [Fact]
    public void TimelineIsRefusedWithoutAnIlgpuDevice() =>
        AssertUserError(Run("bench", "--device", "simd", "--timeline"), "--timeline needs an ILGPU device");

    /// <summary>SIGTERM (docker stop, Kubernetes, Slurm) stops a real `gpuae train` process as Ctrl-C does: the step in
    /// progress ends, a checkpoint records where, the exit code is 143, and --resume goes on from there.</summary>
    [Fact]
    public void SigtermCheckpointsTheRunAndExitsWith143()
    {
        string cli = typeof(GpuAeCli).Assembly.Location;
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [cli, "train", "ae", "--epochs", "40", "--limit", "3000", "--device", "simd", "--out", Folder])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            output.AppendLine(line);
            if (line.Contains("epoch   1/40")) break; // training is under way and epoch 1's checkpoint is written
        }
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", $"{process.Id}"])) kill.WaitForExit();
        output.Append(process.StandardOutput.ReadToEnd());
        process.WaitForExit();
        Assert.True(process.ExitCode == 143, $"exit {process.ExitCode}: {output}{process.StandardError.ReadToEnd()}");
        // The position the process says it stopped at is the one its checkpoint holds (mutant caught: an interrupted run
        // saved as if its epoch had ended, or as the last epoch's checkpoint: the step or the row differ).
        var stopped = System.Text.RegularExpressions.Regex.Match(output.ToString(), @"interrupted at step (\d+) \(epoch (\d+), row (\d+)\)");
        Assert.True(stopped.Success, output.ToString());
        var metadata = SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName)).Metadata;
        int epoch = int.Parse(stopped.Groups[2].Value), row = int.Parse(stopped.Groups[3].Value);
        Assert.Equal(stopped.Groups[1].Value, metadata["step"]);
        Assert.Equal($"{epoch - 1}", metadata["epoch"]);
        Assert.True(epoch >= 2, "stopped before epoch 2 began");
        if (row > 0) Assert.Equal($"{row}", metadata["next_row"]); else Assert.False(metadata.ContainsKey("next_row"));
        var (exit, resumed, error) = Run("train", "ae", "--resume", Folder, "--epochs", $"{epoch + 1}", "--limit", "3000", "--device", "simd");
        Assert.True(exit == 0, error);
        Assert.Contains($"resuming ae from {Path.Combine(Folder, Checkpoint.FileName)} at epoch {epoch}, step {stopped.Groups[1].Value}", resumed);
    }

    /// <summary>A valid checkpoint of a real AE, rewritten with its JSON header changed by <paramref name="edit"/> (the data
    /// bytes kept as they were), or with its header-length field changed.</summary>
    string BrokenCheckpoint(Action<System.Text.Json.Nodes.JsonObject>? edit, long headerLengthChange = 0, string? dropTensor = null)
    {
        var be = TestBackends.Get("simd512");
        var model = new GpuAe.Nets.Model.Autoencoder(be, 1);
        model.Initialise(1);
        string path = Path.Combine(Folder, Checkpoint.FileName);
        Checkpoint.Save(path, be, model, new Dictionary<string, string> { ["epoch"] = "1" });
        var bytes = File.ReadAllBytes(path);
        long length = BitConverter.ToInt64(bytes, 0);
        var header = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Encoding.UTF8.GetString(bytes, 8, (int)length).TrimEnd(' '))!.AsObject();
        edit?.Invoke(header);
        var data = bytes.AsSpan((int)(8 + length)).ToArray();
        if (dropTensor is not null) // the tensor and its bytes gone, the others' offsets moved up: a well-formed file without it
        {                           // (and without a content hash, as another tool might write it)
            header["__metadata__"]!.AsObject().Remove(SafeTensors.ContentHashKey);
            long begin = header[dropTensor]!["data_offsets"]![0]!.GetValue<long>(), end = header[dropTensor]!["data_offsets"]![1]!.GetValue<long>();
            header.Remove(dropTensor);
            foreach (var (_, node) in header.Where(kv => kv.Key != "__metadata__").ToList())
            {
                long b = node!["data_offsets"]![0]!.GetValue<long>(), e = node["data_offsets"]![1]!.GetValue<long>();
                if (b >= end) node["data_offsets"] = new System.Text.Json.Nodes.JsonArray(b - (end - begin), e - (end - begin));
            }
            data = [.. data.AsSpan(0, (int)begin), .. data.AsSpan((int)end)];
        }
        var json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = new byte[(json.Length + 7) / 8 * 8];
        Array.Fill(padded, (byte)' ');
        json.CopyTo(padded, 0);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(padded.Length + headerLengthChange), .. padded, .. data]);
        return path;
    }

    /// <summary>Broken checkpoints given to eval: exit 2, one line naming the file, and nothing written (no eval.json, the
    /// checkpoint untouched).</summary>
    [Theory]
    [InlineData("header length past the file", "header length runs past the end of the file")]
    [InlineData("invalid JSON", "not a readable safetensors checkpoint")]
    [InlineData("overlapping offsets", "the byte ranges overlap or leave a hole")]
    [InlineData("offsets out of range", "does not match its shape or the file size")]
    [InlineData("wrong dtype", "is not F32")]
    [InlineData("missing tensor", "has no tensor 'decoder.2.bias'")]
    [InlineData("edited metadata", "its content does not match its content_sha256")]
    public void BrokenCheckpointsAreOneLineErrorsAndNothingIsWritten(string broken, string expected)
    {
        string path = broken switch
        {
            "header length past the file" => BrokenCheckpoint(null, headerLengthChange: 1 << 30),
            "invalid JSON" => BrokenCheckpoint(h => h["__metadata__"]!["epoch"] = "1\u0000"),
            "overlapping offsets" => BrokenCheckpoint(h => h["encoder.2.weight"]!["data_offsets"] = new System.Text.Json.Nodes.JsonArray(0,
                h["encoder.2.weight"]!["data_offsets"]![1]!.GetValue<long>() - h["encoder.2.weight"]!["data_offsets"]![0]!.GetValue<long>())),
            "offsets out of range" => BrokenCheckpoint(h => h["decoder.2.bias"]!["data_offsets"] = new System.Text.Json.Nodes.JsonArray(1L << 40, (1L << 40) + 784 * 4)),
            "wrong dtype" => BrokenCheckpoint(h => h["encoder.0.bias"]!["dtype"] = "F16"),
            "edited metadata" => BrokenCheckpoint(h => h["__metadata__"]!["epoch"] = "2"),
            _ => BrokenCheckpoint(null, dropTensor: "decoder.2.bias"),
        };
        if (broken == "invalid JSON") // a header that is not JSON at all, of the same length
        {
            var bytes = File.ReadAllBytes(path);
            bytes[8] = (byte)'x';
            File.WriteAllBytes(path, bytes);
        }
        var before = File.ReadAllBytes(path);
        AssertUserError(Run("eval", path, "--device", "simd"), expected);
        Assert.Contains(path, Run("eval", path, "--device", "simd").Err);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(Path.Combine(Folder, "eval.json")));
    }

    /// <summary>--resume keeps the run's own model: another --latent than the checkpoint's is refused, and the run's files
    /// are untouched.</summary>
    [Fact]
    public void ResumeWithAnotherLatentWidthIsRefused()
    {
        Assert.Equal(0, Run("train", "vae", "--epochs", "1", "--limit", "256", "--device", "simd", "--out", Folder).Exit);
        var checkpoint = File.ReadAllBytes(Path.Combine(Folder, Checkpoint.FileName));
        AssertUserError(Run("train", "vae", "--latent", "8", "--resume", Folder, "--limit", "256"), "holds a 2-D vae, not 8-D");
        Assert.Equal(checkpoint, File.ReadAllBytes(Path.Combine(Folder, Checkpoint.FileName)));
        var resumed = Run("train", "vae", "--latent", "2", "--resume", Folder, "--epochs", "2", "--limit", "256", "--device", "simd");
        Assert.True(resumed.Exit == 0, resumed.Err);
    }

    static readonly string Vae2d = Path.Combine(Repository.Root, "reports", "runs", "vae-2d-seed42");

    /// <summary>The decoder written out by hand in double precision from the checkpoint's tensors:
    /// sigmoid(W2·ReLU(W0·z + b0) + b2).</summary>
    static double[] HandDecoded(string run, float[] z)
    {
        var t = SafeTensors.Read(Path.Combine(run, Checkpoint.FileName)).Tensors;
        var (w0, b0, w2, b2) = (t["decoder.0.weight"].Data, t["decoder.0.bias"].Data, t["decoder.2.weight"].Data, t["decoder.2.bias"].Data);
        int hidden = b0.Length, latent = z.Length;
        var h = Enumerable.Range(0, hidden).Select(j => Math.Max(0, b0[j] + Enumerable.Range(0, latent).Sum(k => (double)w0[j * latent + k] * z[k]))).ToArray();
        return [.. Enumerable.Range(0, b2.Length).Select(p => 1 / (1 + Math.Exp(-(b2[p] + Enumerable.Range(0, hidden).Sum(j => w2[p * hidden + j] * h[j])))))];
    }

    [Fact]
    public void DecodePrintsTheDecodersImageAndWritesItAsAGreyPng()
    {
        var (exit, output, error) = Run("decode", Vae2d, "--z", "-0.5,1.25", "--device", "simd");
        Assert.True(exit == 0, error);
        var rows = output.Trim().Split('\n');
        Assert.Equal(28, rows.Length);
        Assert.All(rows, r => Assert.Equal(28, r.Trim().Split(' ').Length));
        var printed = rows.SelectMany(r => r.Trim().Split(' ')).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        // float32 sums in the backend's order against double ones: ~1e-6; the values are printed to 6 decimals.
        var expected = HandDecoded(Vae2d, [-0.5f, 1.25f]);
        Assert.All(expected.Zip(printed), p => Assert.InRange(p.Second, p.First - 2e-6, p.First + 2e-6));

        string png = Path.Combine(Folder, "decoded.png");
        var written = Run("decode", Vae2d, "--z=-0.5,1.25", "--device", "simd", "--out", png);
        Assert.True(written.Exit == 0, written.Err);
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.Equal((28, 28), (bitmap.Width, bitmap.Height));
        // 8-bit: each grey level is round(255·value) of the printed image, give or take the printing's 6 decimals.
        Assert.All(bitmap.Pixels.Zip(printed), p => Assert.InRange(p.First.Red, Math.Round(255 * p.Second) - 1, Math.Round(255 * p.Second) + 1));
        Assert.All(bitmap.Pixels, p => Assert.True(p.Red == p.Green && p.Green == p.Blue));
    }

    [Theory]
    [InlineData("0.5", "--z gives 1 number(s) but the model's latent has 2 dimensions")]
    [InlineData("0.5,x", "'x' is not a finite number")]
    [InlineData("0.5,NaN", "'NaN' is not a finite number")]
    public void DecodeRefusesALatentPointOfTheWrongShape(string z, string expected) =>
        AssertUserError(Run("decode", Vae2d, "--z", z, "--device", "simd"), expected);

    /// <summary>A CVAE trained for one epoch on 512 images: `decode --class` gives what a hand-written decoder of
    /// [z | one-hot class] gives, `sample` writes one labelled row per class, and every misuse is one line with exit 2.</summary>
    [Fact]
    public void ACvaeDecodesAndSamplesPerClass()
    {
        string run = Path.Combine(Folder, "cvae");
        var trained = Run("train", "cvae", "--epochs", "1", "--limit", "512", "--device", "simd", "--out", run, "--quiet");
        Assert.True(trained.Exit == 0, trained.Err);

        var (exit, output, error) = Run("decode", run, "--z", "0.25,-1", "--class", "Coat", "--device", "simd");
        Assert.True(exit == 0, error);
        var printed = output.Trim().Split('\n').SelectMany(r => r.Trim().Split(' ')).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        float[] input = [0.25f, -1f, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]; // Coat is class 4
        var expected = HandDecoded(run, input);
        Assert.All(expected.Zip(printed), p => Assert.InRange(p.Second, p.First - 2e-6, p.First + 2e-6));
        var byNumber = Run("decode", run, "--z", "0.25,-1", "--class", "4", "--device", "simd");
        Assert.Equal(output, byNumber.Out);
        Assert.NotEqual(output, Run("decode", run, "--z", "0.25,-1", "--class", "trouser", "--device", "simd").Out);

        string grid = Path.Combine(Folder, "grid.png");
        var sampled = Run("sample", run, "--n", "30", "--class", "Bag,Sneaker", "--class", "Dress", "--out", grid, "--device", "simd");
        Assert.True(sampled.Exit == 0, sampled.Err);
        string row = Path.Combine(Folder, "row.png");
        Assert.Equal(0, Run("sample", run, "--n", "10", "--class", "Bag", "--out", row, "--device", "simd").Exit);
        using (var three = SkiaSharp.SKBitmap.Decode(grid))
        using (var one = SkiaSharp.SKBitmap.Decode(row))
            Assert.True(three.Height > one.Height + 100, $"three rows {three.Width}×{three.Height}, one row {one.Width}×{one.Height}");

        AssertUserError(Run("decode", run, "--z", "0,0", "--device", "simd"), "add --class");
        AssertUserError(Run("decode", Vae2d, "--z", "0,0", "--class", "Coat", "--device", "simd"), "is not conditioned on a class");
        AssertUserError(Run("sample", run, "--class", "Hat", "--device", "simd"), "'Hat' is not a Fashion-MNIST class");
        AssertUserError(Run("sample", run, "--n", "25", "--device", "simd"), "does not split into 10 equal rows");
        AssertUserError(Run("sample", Vae2d, "--class", "Coat", "--device", "simd"), "is not conditioned on a class");
        AssertUserError(Run("sample", Path.Combine(Repository.Classifier, GpuAe.Nets.Model.Classifier.ChosenFileName), "--device", "simd"), "has no prior to sample");
    }

    [Fact]
    public void DecodeRefusesAClassifierAndAMissingCheckpoint()
    {
        AssertUserError(Run("decode", Path.Combine(Repository.Classifier, GpuAe.Nets.Model.Classifier.ChosenFileName), "--z", "0,0", "--device", "simd"), "has no decoder");
        AssertUserError(Run("decode", Path.Combine(Folder, "nothing"), "--z", "0,0", "--device", "simd"), "checkpoint not found");
    }
}

/// <summary>Every flag of `gpuae train` against every model: applied where it means something, refused with one line
/// everywhere else; the flags --resume takes from the checkpoint refused beside it; --quiet with --json refused. The
/// table of which flag shapes which models is written here from the models' definitions, not read from the program.</summary>
public class TrainFlagTests : TempFolderTest
{
    static (int Exit, string Out, string Err) Run(params string[] args) => Gpuae.Run(args);

    static readonly string[] Autoencoders = ["ae", "conv-ae"], Variational = ["vae", "conv-vae", "cvae", "vae-gan"], Adversarial = ["vae-gan"];
    static readonly string[] Every = ["ae", "vae", "conv-ae", "conv-vae", "cvae", "classifier", "vae-gan"];

    /// <summary>(flag, a value, the models it applies to).</summary>
    static readonly (string Flag, string Value, string[] Models)[] Shaping =
    [
        ("--code-activation", "linear", Autoencoders), ("--latent", "3", [.. Autoencoders, .. Variational]),
        ("--beta", "2", Variational), ("--kl-warmup", "1", Variational), ("--lr", "0.002", [.. Every.Except(Adversarial)]),
        ("--gamma", "0.5", Adversarial), ("--lr-enc", "0.0001", Adversarial), ("--lr-dec", "0.0001", Adversarial), ("--lr-dis", "0.0001", Adversarial),
        ("--collapse-epochs", "2", Adversarial),
    ];

    public static TheoryData<string, string, string> Misapplied()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (flag, value, models) in Shaping)
            foreach (var model in Every.Except(models)) data.Add(flag, value, model);
        return data;
    }

    /// <summary>Mutant caught: a flag dropped from the program's table (it would train as if absent, exit 0).</summary>
    [Theory, MemberData(nameof(Misapplied))]
    public void AFlagGivenToAModelItDoesNotShapeIsRefused(string flag, string value, string model)
    {
        var (exit, _, err) = Run("train", model, flag, value, "--epochs", "1", "--limit", "256", "--device", "simd", "--out", Folder);
        Assert.Equal(2, exit);
        Assert.Contains($"{flag} does not apply to {model}", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(Folder, "metrics.csv")), "nothing is trained");
    }

    /// <summary>Every shaping flag where it applies reaches the checkpoint (one short run per family, all its flags at
    /// once); with the training flags, batch, seed and lr too.</summary>
    [Fact]
    public void EveryFlagThatAppliesReachesTheCheckpoint()
    {
        IReadOnlyDictionary<string, string> Trained(string model, params string[] flags)
        {
            string folder = Path.Combine(Folder, model);
            var (exit, _, err) = Run(["train", model, "--epochs", "1", "--limit", "256", "--device", "simd", "--quiet", "--out", folder, .. flags]);
            Assert.True(exit == 0, err);
            return SafeTensors.Read(Path.Combine(folder, Checkpoint.FileName)).Metadata;
        }
        var ae = Trained("ae", "--code-activation", "linear", "--latent", "3", "--lr", "0.002", "--batch", "64", "--seed", "7");
        Assert.Equal(("linear", "3", "0.002", "64", "7"), (ae["code_activation"], ae["code"], ae["lr"], ae["batch"], ae["seed"]));
        var vae = Trained("vae", "--latent", "3", "--beta", "2", "--kl-warmup", "1", "--batch", "64");
        Assert.Equal(("3", "2", "4"), (vae["latent"], vae["beta"], vae["warmup_steps"])); // 256 images / 64 = 4 steps of warm-up
        var gan = Trained("vae-gan", "--gamma", "0.5", "--lr-enc", "0.0001", "--lr-dec", "0.0002", "--lr-dis", "0.0003", "--collapse-epochs", "2");
        Assert.Equal(("0.5", "0.0001", "0.0002", "0.0003", "2"), (gan["gamma"], gan["lr_encoder"], gan["lr_decoder"], gan["lr_discriminator"], gan["collapse_epochs"]));
    }

    /// <summary>Mutant caught: a resumed run that silently keeps its own value of a flag the user gave.</summary>
    [Theory]
    [InlineData("vae", "--lr", "0.01"), InlineData("vae", "--batch", "32"), InlineData("vae", "--seed", "9"), InlineData("vae", "--beta", "4"),
     InlineData("vae", "--kl-warmup", "2"), InlineData("ae", "--code-activation", "linear"), InlineData("vae", "--out", "elsewhere"),
     InlineData("vae-gan", "--gamma", "0.1")]
    public void ResumeRefusesTheFlagsItTakesFromTheCheckpoint(string model, string flag, string value)
    {
        var (exit, _, err) = Run("train", model, "--resume", Folder, flag, value, "--limit", "256", "--device", "simd");
        Assert.Equal(2, exit);
        Assert.Contains($"leave out {flag}", err);
    }

    [Fact]
    public void QuietAndJsonTogetherAreRefused()
    {
        var (exit, _, err) = Run("train", "ae", "--quiet", "--json", "--epochs", "1", "--limit", "256", "--out", Folder);
        Assert.Equal(2, exit);
        Assert.Contains("--quiet prints nothing and --json", err);
    }
}
