using System.CommandLine;
using GpuAe.Kernels;
using GpuAe.Nets;
using GpuAe.Nets.Report;

namespace GpuAe.Cli;

/// <summary>The `gpuae` command line: parses flags and hands over to src/Nets. Bad input ends with one line on stderr and exit code 2.</summary>
public static class GpuAeCli
{
    public const int UserErrorExit = 2;

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var root = new RootCommand("GpuAe: trains and compares a dense autoencoder and a variational autoencoder on Fashion-MNIST with ILGPU kernels.");
        root.Subcommands.Add(TrainCommand(stdout));
        root.Subcommands.Add(DevicesCommand(stdout));
        root.Subcommands.Add(BenchCommand(stdout));
        root.Subcommands.Add(EvalCommand(stdout));
        root.Subcommands.Add(ReportCommand(stdout, args));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var message = string.Join(" ", parse.Errors[0].Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            stderr.WriteLine($"gpuae: {message} (see gpuae --help)");
            return UserErrorExit;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (UserError e)
        {
            stderr.WriteLine($"gpuae: {e.Message}");
            return UserErrorExit;
        }
    }

    static Option<string> DeviceOption() => new("--device")
    {
        Description = "auto (CUDA, then a usable OpenCL device, then simd), cpu (ILGPU's CPU accelerator), cuda, opencl or simd (the host SIMD backend)",
        DefaultValueFactory = _ => "auto",
    };

    static Option<string?> DataOption() => new("--data")
    {
        Description = $"folder with the Fashion-MNIST .gz files (default: ${FashionMnist.EnvironmentVariable}, else {FashionMnist.DefaultFolder})",
    };

    static Command TrainCommand(TextWriter stdout)
    {
        var model = new Argument<string>("model") { Description = "ae (the dense autoencoder) or vae (the variational autoencoder)" };
        model.AcceptOnlyFromAmong(ModelSpec.Kinds);
        var epochs = new Option<int>("--epochs") { Description = "training epochs", DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 128 };
        var lr = new Option<float>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 1e-3f };
        var seed = new Option<ulong>("--seed") { Description = "seed for initial weights and shuffling", DefaultValueFactory = _ => 42UL };
        var device = DeviceOption();
        var data = DataOption();
        var limit = new Option<int?>("--limit") { Description = "train on the first N training images only (quick runs, tests)" };
        var codeActivation = new Option<string>("--code-activation") { Description = "activation of the AE's 32-D code: relu (as the original notebook) or linear", DefaultValueFactory = _ => "relu" };
        codeActivation.AcceptOnlyFromAmong("relu", "linear");
        var latent = new Option<int>("--latent") { Description = "VAE: latent dimensions", DefaultValueFactory = _ => 2 };
        var beta = new Option<float>("--beta") { Description = "VAE: weight of the KL term (β-VAE)", DefaultValueFactory = _ => 1f };
        var klWarmup = new Option<int>("--kl-warmup") { Description = "VAE: epochs over which the KL weight ramps linearly from 0 to β", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "output folder (default runs/<model>)" };
        var resume = new Option<string?>("--resume") { Description = "continue the run whose checkpoint is in this folder (its flags are reused; --epochs may extend it)" };
        var quiet = new Option<bool>("--quiet") { Description = "print nothing but errors" };
        var json = new Option<bool>("--json") { Description = "print one JSON record per epoch" };

        var command = new Command("train", "Train a model; writes <out>/metrics.csv after every epoch and <out>/model.safetensors (a checkpoint)")
        { model, epochs, batch, lr, seed, device, data, limit, codeActivation, latent, beta, klWarmup, output, resume, quiet, json };
        command.SetAction(r =>
        {
            var options = new TrainOptions(r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed));
            var spec = new ModelSpec(r.GetValue(model)!, r.GetValue(codeActivation) == "linear" ? Activation.None : Activation.Relu,
                r.GetValue(latent), r.GetValue(beta), r.GetValue(klWarmup));
            string? resumeFolder = r.GetValue(resume);
            var run = new TrainRun(spec, options, r.GetValue(device)!, r.GetValue(data), r.GetValue(limit),
                r.GetValue(output) ?? resumeFolder ?? Path.Combine("runs", spec.Kind), resumeFolder,
                r.GetResult(epochs) is { Implicit: false } ? r.GetValue(epochs) : null, r.GetValue(quiet), r.GetValue(json));
            if (resumeFolder is not null) CheckResumedKind(resumeFolder, spec.Kind);
            return run.Execute(stdout);
        });
        return command;
    }

    static Command EvalCommand(TextWriter stdout)
    {
        var path = new Argument<string>("checkpoint") { Description = "a model.safetensors file, or the run folder holding one" };
        var iwaeK = new Option<int>("--iwae-k") { Description = "VAE: importance samples for the IWAE bound (0 skips it)", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch") { Description = "evaluation batch size", DefaultValueFactory = _ => 128 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the IWAE samples", DefaultValueFactory = _ => 42UL };
        var device = DeviceOption();
        var data = DataOption();
        var command = new Command("eval", "Evaluate a saved model on the 10,000 test images; writes eval.json beside it") { path, iwaeK, batch, seed, device, data };
        command.SetAction(r => new EvalRun(r.GetValue(path)!, r.GetValue(iwaeK), r.GetValue(batch), r.GetValue(seed),
            r.GetValue(device)!, r.GetValue(data)).Execute(stdout));
        return command;
    }

    static Command ReportCommand(TextWriter stdout, string[] args)
    {
        var aeEpochs = new Option<int>("--ae-epochs") { Description = "AE training epochs (the notebook's budget)", DefaultValueFactory = _ => 10 };
        var vaeEpochs = new Option<int>("--vae-epochs") { Description = "VAE training epochs (the notebook's budget)", DefaultValueFactory = _ => 50 };
        var batch = new Option<int>("--batch") { Description = "batch size for both models", DefaultValueFactory = _ => 128 };
        var seed = new Option<ulong>("--seed") { Description = "seed for weights, shuffling, noise and samples", DefaultValueFactory = _ => 42UL };
        var limit = new Option<int?>("--limit") { Description = "train on the first N training images only (quick runs, tests)" };
        var output = new Option<string>("--out") { Description = "report folder", DefaultValueFactory = _ => "reports" };
        var fromRuns = new Option<string[]>("--from-runs") { Description = "use finished runs (one AE, one VAE folder) instead of training", AllowMultipleArgumentsPerToken = true };
        var iwaeK = new Option<int>("--iwae-k") { Description = "importance samples for the VAE's IWAE bound", DefaultValueFactory = _ => 100 };
        var manifoldN = new Option<int>("--manifold-n") { Description = "the latent manifold is an n×n grid", DefaultValueFactory = _ => 15 };
        var manifoldP = new Option<double[]>("--manifold-p") { Description = "lowest and highest probability of the manifold's normal quantiles", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [0.05, 0.95] };
        var device = DeviceOption();
        var data = DataOption();
        var command = new Command("report", "Train (or load) the AE and the VAE, evaluate both, write figures, metrics and REPORT.md")
        { aeEpochs, vaeEpochs, batch, seed, limit, output, fromRuns, iwaeK, manifoldN, manifoldP, device, data };
        command.SetAction(r =>
        {
            var p = r.GetValue(manifoldP)!;
            if (p.Length != 2) throw new UserError($"--manifold-p takes two probabilities, low and high (got {p.Length})");
            var options = new ReportOptions(r.GetValue(aeEpochs), r.GetValue(vaeEpochs), r.GetValue(batch), r.GetValue(seed), r.GetValue(output)!,
                r.GetValue(fromRuns), r.GetValue(iwaeK), r.GetValue(manifoldN), p[0], p[1], "gpuae " + string.Join(" ", args));
            ReportBuilder.Validate(options);
            if (options.Batch < 1) throw new UserError($"--batch must be at least 1 (got {options.Batch})");
            var (train, test) = Data.Load(r.GetValue(data), r.GetValue(limit));
            using var backend = Backends.Open(r.GetValue(device)!);
            ReportBuilder.Build(backend, train, test, options, stdout);
            return 0;
        });
        return command;
    }

    static void CheckResumedKind(string folder, string kind)
    {
        string path = Path.Combine(folder, Checkpoint.FileName);
        if (!File.Exists(path)) throw new UserError($"--resume: no checkpoint {path}; train without --resume first");
        string found = Checkpoint.Get(SafeTensors.Read(path).Metadata, "model", path);
        if (found != kind) throw new UserError($"--resume: {path} holds a '{found}' model, not '{kind}': use `gpuae train {found} --resume {folder}`");
    }

    static Command DevicesCommand(TextWriter stdout)
    {
        var command = new Command("devices", "List the devices ILGPU sees and whether GpuAe can use them");
        command.SetAction(_ =>
        {
            foreach (var d in Backends.List())
                stdout.WriteLine($"{d.Kind,-7} {(d.Usable ? "usable  " : "unusable")}  {d.Name}  ({d.Note})");
            return 0;
        });
        return command;
    }

    static Command BenchCommand(TextWriter stdout)
    {
        var device = DeviceOption();
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 128 };
        var steps = new Option<int>("--steps") { Description = "timed repetitions per measurement", DefaultValueFactory = _ => 20 };
        var command = new Command("bench", "Time each kernel on the AE's shapes and whole training steps") { device, batch, steps };
        command.SetAction(r =>
        {
            using var backend = Backends.Open(r.GetValue(device)!);
            int b = r.GetValue(batch), n = r.GetValue(steps);
            stdout.WriteLine($"device: {backend.DeviceName}");
            stdout.WriteLine($"{"kernel",-40} {"shape",-22} {"ms",10} {"GFLOP/s",10}");
            foreach (var k in Bench.Kernels(backend, b, n))
                stdout.WriteLine($"{k.Name,-40} {k.Shape,-22} {k.Milliseconds,10:F3} {(k.GigaFlops > 0 ? k.GigaFlops.ToString("F2") : "-"),10}");
            double stepMs = Bench.AeStepMs(backend, b, n);
            int stepsPerEpoch = (60000 + b - 1) / b;
            stdout.WriteLine($"AE training step (batch {b}): {stepMs:F2} ms; epoch of 60,000 images ≈ {stepMs * stepsPerEpoch / 1000:F2} s ({2.1e6 * 60000 / (stepMs * stepsPerEpoch / 1000) / 1e9:F2} GFLOP/s)");
            return 0;
        });
        return command;
    }
}
