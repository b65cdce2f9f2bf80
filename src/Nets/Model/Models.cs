using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;

namespace GpuAe.Nets.Model;

/// <summary>What defines a model on the command line: its kind and the flags that shape it. Latent is the width of the
/// latent, one flag for both families: the AE's code (default 32, the notebook's) or the VAE's z (default 2).</summary>
public sealed record ModelSpec(string Kind, Activation CodeActivation = Activation.Relu, int? Latent = null, float Beta = 1f, int KlWarmupEpochs = 0)
{
    public const int DefaultAeCode = 32, DefaultVaeLatent = 2;
    public int LatentSize => Latent ?? (IsVae ? DefaultVaeLatent : DefaultAeCode);

    /// <summary>The autoencoders (the study's models) and the classifier that scores their samples.</summary>
    public static readonly string[] AutoencoderKinds = ["ae", "vae", "conv-ae", "conv-vae"];
    public static readonly string[] Kinds = [.. AutoencoderKinds, "classifier"];

    /// <summary>True for the VAEs (dense or convolutional): the one place that decides it from a kind's name.</summary>
    public static bool IsVaeKind(string kind) => kind.EndsWith("vae", StringComparison.Ordinal);
    public bool IsVae => IsVaeKind(Kind);
    public Architecture Architecture => Kind.StartsWith("conv-", StringComparison.Ordinal) ? Architecture.Conv : Architecture.Dense;
}

public static class Models
{
    public static IModel Create(IBackend backend, ModelSpec spec, int batch, int stepsPerEpoch) =>
        Create(backend, spec, batch, (long)spec.KlWarmupEpochs * stepsPerEpoch);

    static IModel Create(IBackend backend, ModelSpec spec, int batch, long warmupSteps)
    {
        if (!ModelSpec.Kinds.Contains(spec.Kind))
            throw new UserError($"unknown model '{spec.Kind}': use {string.Join(", ", ModelSpec.Kinds)}");
        if (spec.Kind == "classifier") return new Classifier(backend, batch);
        return spec.IsVae
            ? new VariationalAutoencoder(backend, batch, spec.LatentSize, spec.Beta, warmupSteps, architecture: spec.Architecture)
            : new Autoencoder(backend, batch, spec.CodeActivation, codeSize: spec.LatentSize, architecture: spec.Architecture);
    }

    /// <summary>The model spec a checkpoint's metadata describes.</summary>
    public static ModelSpec SpecOf(IReadOnlyDictionary<string, string> metadata, string path)
    {
        string kind = Checkpoint.Get(metadata, "model", path);
        if (!ModelSpec.Kinds.Contains(kind)) throw new UserError($"{path} holds an unknown model kind '{kind}'");
        if (kind == "classifier") return new ModelSpec(kind);
        return ModelSpec.IsVaeKind(kind)
            ? new ModelSpec(kind, Latent: (int)Checkpoint.GetLong(metadata, "latent", path),
                Beta: float.Parse(Checkpoint.Get(metadata, "beta", path), CultureInfo.InvariantCulture))
            : new ModelSpec(kind, Checkpoint.Get(metadata, "code_activation", path) == "linear" ? Activation.None : Activation.Relu,
                (int)Checkpoint.GetLong(metadata, "code", path));
    }

    /// <summary>Rebuilds the architecture a checkpoint describes and loads its weights (and Adam's moments when asked).</summary>
    public static (IModel Model, IReadOnlyDictionary<string, string> Metadata) Load(IBackend backend, string path, int batch, bool withMoments = false)
    {
        var metadata = SafeTensors.Read(path).Metadata;
        var spec = SpecOf(metadata, path);
        var model = Create(backend, spec, batch, spec.IsVae ? Checkpoint.GetLong(metadata, "warmup_steps", path) : 0);
        if (model is VariationalAutoencoder vae) vae.Seed = (ulong)Checkpoint.GetLong(metadata, "seed", path);
        Checkpoint.Load(path, backend, model, withMoments);
        return (model, metadata);
    }
}
