using System.Globalization;
using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>What defines a model on the command line: its kind and the flags that shape it.</summary>
public sealed record ModelSpec(string Kind, Activation CodeActivation = Activation.Relu, int Latent = 2, float Beta = 1f, int KlWarmupEpochs = 0)
{
    public static readonly string[] Kinds = ["ae", "vae"];
}

public static class Models
{
    public static IModel Create(IBackend backend, ModelSpec spec, int batch, int stepsPerEpoch) => spec.Kind switch
    {
        "ae" => new Autoencoder(backend, batch, spec.CodeActivation),
        "vae" => new VariationalAutoencoder(backend, batch, spec.Latent, spec.Beta, (long)spec.KlWarmupEpochs * stepsPerEpoch),
        _ => throw new UserError($"unknown model '{spec.Kind}': use {string.Join(" or ", ModelSpec.Kinds)}"),
    };

    /// <summary>The model spec a checkpoint's metadata describes.</summary>
    public static ModelSpec SpecOf(IReadOnlyDictionary<string, string> metadata, string path)
    {
        string kind = Checkpoint.Get(metadata, "model", path);
        return kind switch
        {
            "ae" => new ModelSpec("ae", Checkpoint.Get(metadata, "code_activation", path) == "linear" ? Activation.None : Activation.Relu),
            "vae" => new ModelSpec("vae", Latent: (int)Checkpoint.GetLong(metadata, "latent", path),
                Beta: float.Parse(Checkpoint.Get(metadata, "beta", path), CultureInfo.InvariantCulture)),
            _ => throw new UserError($"{path} holds an unknown model kind '{kind}'"),
        };
    }

    /// <summary>Rebuilds the architecture a checkpoint describes and loads its weights (and Adam's moments when asked).</summary>
    public static (IModel Model, IReadOnlyDictionary<string, string> Metadata) Load(IBackend backend, string path, int batch, bool withMoments = false)
    {
        var metadata = SafeTensors.Read(path).Metadata;
        var spec = SpecOf(metadata, path);
        IModel model = spec.Kind == "ae"
            ? new Autoencoder(backend, batch, spec.CodeActivation)
            : new VariationalAutoencoder(backend, batch, spec.Latent, spec.Beta, Checkpoint.GetLong(metadata, "warmup_steps", path))
              { Seed = (ulong)Checkpoint.GetLong(metadata, "seed", path) };
        Checkpoint.Load(path, backend, model, withMoments);
        return (model, metadata);
    }
}
