using System.CommandLine;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Diagnostics;
using GpuAe.Nets.Model;
using GpuAe.Nets.Report;
using GpuAe.Nets.Training;
using GpuAe.Nets;

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
        root.Subcommands.Add(DecodeCommand(stdout));
        root.Subcommands.Add(SampleCommand(stdout));
        root.Subcommands.Add(CheckCommand(stdout));
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk or a folder that became unwritable while files were written (or a file that could not be
            // read): every file is written through AtomicFile, so what was there before is intact and nothing
            // half-written is left.
            string message = string.Join(" ", e.Message.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            stderr.WriteLine($"gpuae: could not read or write a file ({message}): free some space or choose a folder you can write to; " +
                             "the files written before are intact, and a training run resumes from its last checkpoint with --resume");
            return UserErrorExit;
        }
    }

    static Option<string> DeviceOption()
    {
        var device = new Option<string>("--device")
        {
            Description = "auto (CUDA, then a usable OpenCL device, then simd), cpu (ILGPU's CPU accelerator), cuda, opencl or simd (the host SIMD backend)",
            DefaultValueFactory = _ => "auto",
        };
        device.AcceptOnlyFromAmong(Backends.Names);
        return device;
    }

    /// <summary>The one list syntax: values separated by commas, spaces (several words after the flag) or both, e.g.
    /// `--latents 2,8,32`, `--latents 2 8 32` or `--from-runs runs/*` as the shell expands it.</summary>
    static Option<string[]> ListOption(string name, string description, string[]? defaults = null)
    {
        var option = new Option<string[]>(name) { Description = description, AllowMultipleArgumentsPerToken = true };
        if (defaults is not null) option.DefaultValueFactory = _ => defaults;
        return option;
    }

    /// <summary>A list option's values, commas split, empty entries dropped.</summary>
    internal static string[] Values(string[]? given) =>
        [.. (given ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    static Option<string?> DataOption() => new("--data")
    {
        Description = $"folder with the Fashion-MNIST .gz files (default: ${FashionMnist.EnvironmentVariable}, else {FashionMnist.DefaultFolder})",
    };

    static Command TrainCommand(TextWriter stdout)
    {
        var model = new Argument<string>("model") { Description = string.Join("; ", ModelKind.All.Select(k => $"{k.Name}: {k.Description}")) };
        model.AcceptOnlyFromAmong([.. ModelKind.Names()]);
        var epochs = new Option<int>("--epochs") { Description = "training epochs", DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 128 };
        var lr = new Option<float>("--lr") { Description = "Adam learning rate (vae-gan: see --lr-enc, --lr-dec, --lr-dis)", DefaultValueFactory = _ => 1e-3f };
        var seed = new Option<ulong>("--seed") { Description = "seed for initial weights and shuffling", DefaultValueFactory = _ => 42UL };
        var device = DeviceOption();
        var data = DataOption();
        var limit = new Option<int?>("--limit") { Description = "train on the first N training images only (quick runs, tests)" };
        var testLimit = Data.TestLimitOption();
        var codeActivation = new Option<string>("--code-activation") { Description = "activation of the AE's code: relu (as the original notebook) or linear", DefaultValueFactory = _ => "relu" };
        codeActivation.AcceptOnlyFromAmong("relu", "linear");
        var latent = new Option<int?>("--latent") { Description = $"width of the latent: the AE's code (default {ModelSpec.DefaultAeCode}, the notebook's) or the VAE's z (default {ModelSpec.DefaultVaeLatent})" };
        var beta = new Option<float>("--beta") { Description = "VAE: weight of the KL term (β-VAE)", DefaultValueFactory = _ => 1f };
        var klWarmup = new Option<int>("--kl-warmup") { Description = "VAE: epochs over which the KL weight ramps linearly from 0 to β", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "output folder (default runs/<model>)" };
        var resume = new Option<string?>("--resume") { Description = "continue the run whose checkpoint is in this folder (its flags are reused; --epochs may extend it)" };
        var quiet = new Option<bool>("--quiet") { Description = "print nothing but errors" };
        var json = new Option<bool>("--json") { Description = "print one JSON record per epoch" };
        var defaults = new AdversarialSettings();
        var gamma = new Option<float>("--gamma")
        {
            Description = "vae-gan: γ, the weight of the feature reconstruction L_llike against fooling the discriminator in the decoder's loss " +
                          $"γ·L_llike − L_GAN (default {defaults.Gamma}: the authors' code's recon_vs_gan_weight w = 1e-2, as γ = w/(1 − w))",
            DefaultValueFactory = _ => defaults.Gamma,
        };
        Option<float> Rate(string name, string part, float value) => new(name)
        {
            Description = $"vae-gan: Adam learning rate of the {part} (default {value}: the authors' code's starting rate, 0.02 per batch of 64, with RMSProp there)",
            DefaultValueFactory = _ => value,
        };
        var lrEncoder = Rate("--lr-enc", "encoder", defaults.EncoderRate);
        var lrDecoder = Rate("--lr-dec", "decoder (the generator)", defaults.DecoderRate);
        var lrDiscriminator = Rate("--lr-dis", "discriminator", defaults.DiscriminatorRate);
        var collapseEpochs = new Option<int>("--collapse-epochs")
        {
            Description = "vae-gan: stop when the adversarial game has collapsed for this many epochs in a row (the discriminator right on ≥ 99.9 % of " +
                          "the real and of the generated images, or lost: right on ≤ 0.1 % of either, or its loss ≥ 3·ln 1000 nats per image); 0 never stops",
            DefaultValueFactory = _ => CollapseWatch.DefaultEpochs,
        };

        var command = new Command("train", "Train a model; writes <out>/metrics.csv after every epoch and <out>/model.safetensors (a checkpoint)")
        { model, epochs, batch, lr, seed, device, data, limit, testLimit, codeActivation, latent, beta, klWarmup, gamma, lrEncoder, lrDecoder, lrDiscriminator, collapseEpochs,
          output, resume, quiet, json };
        // Which models each model-shaping flag applies to: a flag given to any other model is refused, never ignored.
        (Option Flag, Func<ModelKind, bool> Applies)[] shaping =
        [
            (codeActivation, k => k.Family == ModelFamily.Autoencoder), (latent, k => k.Family != ModelFamily.Classifier),
            (beta, k => k.IsVariational), (klWarmup, k => k.IsVariational), (lr, k => !k.IsAdversarial),
            (gamma, k => k.IsAdversarial), (lrEncoder, k => k.IsAdversarial), (lrDecoder, k => k.IsAdversarial),
            (lrDiscriminator, k => k.IsAdversarial), (collapseEpochs, k => k.IsAdversarial),
        ];
        // What --resume takes from the checkpoint instead: given beside it, refused (--epochs may extend the run).
        // The collapse watch may change: it only stops training, and --collapse-epochs 0 lets a collapsed run go on.
        Option[] fromCheckpoint = [batch, lr, seed, codeActivation, beta, klWarmup, gamma, lrEncoder, lrDecoder, lrDiscriminator, output];
        command.SetAction(r =>
        {
            var kind = ModelKind.Named(r.GetValue(model)!);
            bool Given(Option option) => r.GetResult(option) is { Implicit: false };
            foreach (var (flag, applies) in shaping)
                if (Given(flag) && !applies(kind))
                    throw new UserError($"{flag.Name} does not apply to {kind.Name}: it is a flag of {string.Join(", ", ModelKind.Names(applies))}" +
                                        (flag == lr ? " (vae-gan: --lr-enc, --lr-dec, --lr-dis)" : ""));
            if (r.GetValue(resume) is not null && fromCheckpoint.FirstOrDefault(Given) is { } kept)
                throw new UserError($"--resume continues the run with its own settings and folder: leave out {kept.Name} (only --epochs may extend it)");
            if (r.GetValue(quiet) && r.GetValue(json))
                throw new UserError("--quiet prints nothing and --json prints a record per epoch: give one of them");
            var options = new TrainOptions(r.GetValue(epochs), r.GetValue(batch), r.GetValue(lr), r.GetValue(seed), r.GetValue(collapseEpochs));
            var spec = new ModelSpec(kind.Name, r.GetValue(codeActivation) == "linear" ? Activation.None : Activation.Relu,
                r.GetValue(latent), r.GetValue(beta), r.GetValue(klWarmup),
                kind.IsAdversarial ? new AdversarialSettings(r.GetValue(gamma), r.GetValue(lrEncoder), r.GetValue(lrDecoder), r.GetValue(lrDiscriminator)) : null);
            string? resumeFolder = r.GetValue(resume);
            var run = new TrainRun(spec, options, r.GetValue(device)!, r.GetValue(data), r.GetValue(limit), r.GetValue(testLimit),
                r.GetValue(output) ?? resumeFolder ?? Path.Combine("runs", spec.Kind), resumeFolder,
                r.GetResult(epochs) is { Implicit: false } ? r.GetValue(epochs) : null, r.GetValue(quiet), r.GetValue(json),
                Given(collapseEpochs) ? r.GetValue(collapseEpochs) : null);
            if (resumeFolder is not null) CheckResumed(resumeFolder, spec, latentGiven: r.GetResult(latent) is { Implicit: false });
            return run.Execute(stdout);
        });
        return command;
    }

    static Command EvalCommand(TextWriter stdout)
    {
        var path = new Argument<string>("checkpoint") { Description = "a model.safetensors file, or the run folder holding one" };
        var iwaeK = new Option<int>("--iwae-k") { Description = "VAE: importance samples for the IWAE bound (0 skips it)", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch") { Description = "evaluation batch size", DefaultValueFactory = _ => 128 };
        var device = DeviceOption();
        var data = DataOption();
        var testLimit = Data.TestLimitOption();
        var command = new Command("eval", "Evaluate a saved model on the test images (all 10,000, or the first --test-limit); writes eval.json beside it") { path, iwaeK, batch, device, data, testLimit };
        command.SetAction(r => new EvalRun(r.GetValue(path)!, r.GetValue(iwaeK), r.GetValue(batch),
            r.GetValue(device)!, r.GetValue(data), r.GetValue(testLimit)).Execute(stdout));
        return command;
    }

    static Command DecodeCommand(TextWriter stdout)
    {
        var path = new Argument<string>("checkpoint") { Description = "a model.safetensors file of an autoencoder, or the run folder holding one" };
        var z = new Option<string>("--z") { Description = "the latent point, one number per dimension, comma-separated: \"0.5,-1.2\" for a 2-D model", Required = true };
        var output = new Option<string?>("--out") { Description = "write the image as an 8-bit grey 28×28 PNG (default: print its 28 rows of values in [0, 1])" };
        var cls = ClassOption("cvae: the class to decode the point for");
        var device = DeviceOption();
        var command = new Command("decode", "Decode one latent point with a saved autoencoder's decoder (what the latent explorer draws)") { path, z, cls, output, device };
        command.SetAction(r => new DecodeRun(r.GetValue(path)!, r.GetValue(z)!, r.GetValue(cls), r.GetValue(output), r.GetValue(device)!).Execute(stdout));
        return command;
    }

    static Option<string?> ClassOption(string description) => new("--class")
    {
        Description = $"{description}: a Fashion-MNIST class by name ({string.Join(", ", FashionMnist.ClassNames)}) or number 0–9",
    };

    static Command SampleCommand(TextWriter stdout)
    {
        var path = new Argument<string>("checkpoint")
        {
            Description = $"a model.safetensors file of a model with a prior ({string.Join(", ", ModelKind.Names(k => k.SamplesPrior))}), or the run folder holding one",
        };
        var cls = ListOption("--class", $"cvae: the classes to sample, one row each, by name ({string.Join(", ", FashionMnist.ClassNames)}) or number 0–9 (default: every class)");
        var n = new Option<int>("--n") { Description = "images to draw, split evenly over the rows (one row per class for a cvae, rows of ten otherwise)", DefaultValueFactory = _ => 100 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the prior's draws z ~ N(0, I)", DefaultValueFactory = _ => 1UL };
        var output = new Option<string>("--out") { Description = "the grid PNG to write", DefaultValueFactory = _ => "samples.png" };
        var device = DeviceOption();
        var command = new Command("sample", "Draw images from a saved generative model's prior (per class for a cvae) into one grid PNG") { path, cls, n, seed, output, device };
        command.SetAction(r => new SampleRun(r.GetValue(path)!, Values(r.GetValue(cls)), r.GetValue(n), r.GetValue(seed), r.GetValue(output)!, r.GetValue(device)!).Execute(stdout));
        return command;
    }

    static Command ReportCommand(TextWriter stdout, string[] args)
    {
        var d = new ReportOptions(); // the committed study's settings are the defaults
        string[] Texts<T>(IEnumerable<T> values) => [.. values.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!)];
        var aeEpochs = new Option<int>("--notebook-ae-epochs") { Description = "epochs of the notebook's AE (32-D ReLU code; the notebook's budget)", DefaultValueFactory = _ => d.NotebookAeEpochs };
        var vaeEpochs = new Option<int>("--epochs") { Description = "epochs of every other run: AE and VAE at each latent width (the notebook VAE's budget)", DefaultValueFactory = _ => d.Epochs };
        var batch = new Option<int>("--batch") { Description = "batch size for every model", DefaultValueFactory = _ => d.Batch };
        var seed = new Option<ulong>("--seed") { Description = "first seed (weights, shuffling, training noise, samples); the others follow it", DefaultValueFactory = _ => d.Seed };
        var seeds = new Option<int>("--seeds") { Description = "seeds per configuration: the tables give mean ± sd over them, the figures show the first", DefaultValueFactory = _ => d.Seeds };
        var latents = ListOption("--latents", "latent widths: AE and VAE are trained at each (must include 2, for the latent figures)", Texts(d.LatentSizes));
        var limit = new Option<int?>("--limit") { Description = "train on the first N training images only (quick runs, tests)" };
        var testLimit = Data.TestLimitOption();
        var output = new Option<string>("--out") { Description = "report folder (the default is git-ignored; the committed study is in reports/)", DefaultValueFactory = _ => d.OutputFolder };
        var fromRuns = ListOption("--from-runs", "finished runs to use instead of training: each is matched to the study's runs by its checkpoint (model, latent, β, seed); runs not given are trained");
        var iwaeK = new Option<int>("--iwae-k") { Description = "importance samples for the VAEs' IWAE bound", DefaultValueFactory = _ => d.IwaeK };
        var manifoldN = new Option<int>("--manifold-n") { Description = "the latent manifold is an n×n grid", DefaultValueFactory = _ => d.ManifoldN };
        var manifoldP = ListOption("--manifold-p", "lowest and highest probability of the manifold's normal quantiles", Texts([d.ManifoldLow, d.ManifoldHigh]));
        var models = ListOption("--models", $"models to train and compare: ae and vae, and any of {string.Join(", ", ModelKind.Names(k => k.InStudy && k != ModelKind.Ae && k != ModelKind.Vae))} (a cvae and a vae-gan at 2-D only)", [.. d.ModelKinds]);
        var betas = ListOption("--betas", "β sweep of the 2-D VAE (1 alone: no sweep)", Texts(d.BetaValues));
        var betaEpochs = new Option<int?>("--beta-epochs") { Description = "epochs of each β-sweep VAE (default: --epochs)" };
        var samples = new Option<int>("--samples") { Description = "images generated per run to score generation (Fréchet distance, class coverage, near-empty share)", DefaultValueFactory = _ => d.Samples };
        var classifier = new Option<string?>("--classifier") { Description = "folder of the `gpuae train classifier` run whose chosen.safetensors scores generated images (default: the classifier shipped with gpuae, a copy of the repository's reports/classifier)" };
        var device = DeviceOption();
        var data = DataOption();
        var command = new Command("report", "Train (or load) the study's runs, evaluate them, write figures, metrics, REPORT.md, report.pdf and slides.pdf")
        { aeEpochs, vaeEpochs, batch, seed, seeds, latents, limit, testLimit, output, fromRuns, iwaeK, manifoldN, manifoldP, models, betas, betaEpochs, classifier, samples, device, data };
        command.SetAction(r =>
        {
            var runs = r.GetResult(fromRuns) is null ? null : Values(r.GetValue(fromRuns));
            var p = ParseNumbers(Values(r.GetValue(manifoldP)), "--manifold-p", "0.05,0.95", double.Parse);
            if (p.Length != 2) throw new UserError($"--manifold-p takes two probabilities, low and high (got {p.Length})");
            var options = new ReportOptions(r.GetValue(aeEpochs), r.GetValue(vaeEpochs), r.GetValue(batch), r.GetValue(seed), r.GetValue(output)!,
                runs, r.GetValue(iwaeK), r.GetValue(manifoldN), p[0], p[1], CommandLine(args, runs),
                Values(r.GetValue(models)), ParseNumbers(Values(r.GetValue(betas)), "--betas", "0.5,1,2,4", float.Parse), r.GetValue(betaEpochs),
                r.GetValue(seeds), ParseNumbers(Values(r.GetValue(latents)), "--latents", "2,8,32", (text, style, culture) => int.Parse(text, style, culture)),
                r.GetValue(classifier)!, r.GetValue(samples));
            return new ReportRun(options, r.GetValue(device)!, r.GetValue(data), r.GetValue(limit), r.GetValue(testLimit)).Execute(stdout);
        });
        return command;
    }

    /// <summary>The command as the report quotes it: --from-runs folders that share one parent are written PARENT/* (what
    /// the shell expanded), so the line stays short and can be pasted again.</summary>
    static string CommandLine(string[] args, string[]? fromRuns)
    {
        var parents = (fromRuns ?? []).Select(f => Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(f))).Distinct().ToArray();
        if (fromRuns is not { Length: > 1 } || parents.Length != 1 || !fromRuns.All(args.Contains)) return "gpuae " + string.Join(" ", args);
        var kept = args.Where(a => !fromRuns.Contains(a)).ToList();
        kept.Insert(kept.IndexOf("--from-runs") + 1, Path.Combine(parents[0]!, "*"));
        return "gpuae " + string.Join(" ", kept);
    }

    static T[] ParseNumbers<T>(string[] texts, string flag, string example, Func<string, System.Globalization.NumberStyles, IFormatProvider, T> parse) =>
        [.. texts.Select(b =>
        {
            try { return parse(b, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture); }
            catch (FormatException) { throw new UserError($"{flag}: '{b}' is not a number; write them like {example}"); }
            catch (OverflowException) { throw new UserError($"{flag}: '{b}' is out of range; write them like {example}"); }
        })];

    /// <summary>--resume continues the checkpoint's own model: a different kind, or a --latent given that differs from the
    /// checkpoint's width, is refused before anything is touched.</summary>
    static void CheckResumed(string folder, ModelSpec spec, bool latentGiven)
    {
        string path = Path.Combine(folder, Checkpoint.FileName);
        if (!File.Exists(path)) throw new UserError($"--resume: no checkpoint {path}; train without --resume first");
        var metadata = SafeTensors.Read(path).Metadata;
        string found = Checkpoint.Get(metadata, "model", path);
        if (found != spec.Kind) throw new UserError($"--resume: {path} holds a '{found}' model, not '{spec.Kind}': use `gpuae train {found} --resume {folder}`");
        var saved = Models.SpecOf(metadata, path);
        if (latentGiven && saved.LatentSize != spec.LatentSize)
            throw new UserError($"--resume: {path} holds a {saved.LatentSize}-D {found}, not {spec.LatentSize}-D: leave out --latent (a resumed run keeps its own)");
    }

    static Command DevicesCommand(TextWriter stdout)
    {
        var command = new Command("devices", "List the devices ILGPU sees and whether GpuAe can use them");
        command.SetAction(_ => new DevicesRun().Execute(stdout));
        return command;
    }

    /// <summary>The models `bench` times on synthetic images: the autoencoders that train without labels.</summary>
    static bool Benched(ModelKind k) => k.InStudy && !k.NeedsLabels && !k.IsAdversarial;

    static Command BenchCommand(TextWriter stdout)
    {
        var device = DeviceOption();
        string[] benched = [.. ModelKind.Names(Benched)];
        var model = new Option<string>("--model") { Description = $"{string.Join(", ", benched)}: the model whose training step and epoch are timed", DefaultValueFactory = _ => "ae" };
        model.AcceptOnlyFromAmong(benched);
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 128 };
        var steps = new Option<int>("--steps") { Description = "timed repetitions per measurement (each measured three times; the fastest is shown)", DefaultValueFactory = _ => 20 };
        var epoch = new Option<bool>("--epoch") { Description = "also time a whole epoch (60,000 synthetic images; on CUDA its steps replayed from a CUDA graph, as in training) and a 10,000-image evaluation" };
        var timeline = new Option<bool>("--timeline") { Description = "ILGPU devices: also print the device time of every operation inside a training step (profiling markers between the backend calls; median of --steps steps)" };
        var command = new Command("bench", "Time each kernel on the AE's widest layer, a training step, and optionally a whole epoch") { device, model, batch, steps, epoch, timeline };
        command.SetAction(r => new BenchRun(r.GetValue(device)!, r.GetValue(model)!, r.GetValue(batch), r.GetValue(steps), r.GetValue(epoch), r.GetValue(timeline)).Execute(stdout));

        var gemmModel = new Option<string>("--model") { Description = "the model whose training step's GEMM shapes are timed", DefaultValueFactory = _ => "ae" };
        gemmModel.AcceptOnlyFromAmong(benched);
        var gemmBatch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 128 };
        var gemms = new Command("gemms", "SIMD backend: time every GEMM shape of a model's training step on its own (median of 200 calls); bench/compare-pytorch.sh sets PyTorch's matmul on the same shapes beside these")
        { gemmModel, gemmBatch };
        gemms.SetAction(r => new GemmsRun(r.GetValue(gemmModel)!, r.GetValue(gemmBatch)).Execute(stdout));
        command.Subcommands.Add(gemms);
        return command;
    }

    static Command CheckCommand(TextWriter stdout)
    {
        var device = DeviceOption();
        var command = new Command("check", "Run every kernel and a whole training step of each model on a device against the plain C# reference; exit 1 on any mismatch") { device };
        command.SetAction(r => new CheckRun(r.GetValue(device)!).Execute(stdout));
        return command;
    }
}
