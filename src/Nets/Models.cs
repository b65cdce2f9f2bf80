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

    /// <summary>Rebuilds the architecture a checkpoint's metadata describes and loads its weights.</summary>
    public static IModel Load(IBackend backend, string checkpointPath, int batch)
    {
        var metadata = SafeTensors.Read(checkpointPath).Metadata;
        string Get(string key) => metadata.TryGetValue(key, out var v) ? v
            : throw new UserError($"{checkpointPath} lacks '{key}' in its metadata: it was not written by gpuae");
        IModel model = Get("model") switch
        {
            "ae" => new Autoencoder(backend, batch, Get("code_activation") == "linear" ? Activation.None : Activation.Relu),
            "vae" => new VariationalAutoencoder(backend, batch, int.Parse(Get("latent"), CultureInfo.InvariantCulture),
                float.Parse(Get("beta"), CultureInfo.InvariantCulture)),
            var other => throw new UserError($"{checkpointPath} holds an unknown model kind '{other}'"),
        };
        Checkpoint.LoadWeights(checkpointPath, backend, model);
        return model;
    }
}
