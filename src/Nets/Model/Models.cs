using System.Globalization;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;

namespace GpuAe.Nets.Model;

/// <summary>What a model is, for everything outside it: the trainer, checkpoints, the report, the command line.</summary>
public enum ModelFamily
{
    /// <summary>A deterministic code, trained on reconstruction alone.</summary>
    Autoencoder,
    /// <summary>q(z|x) = N(μ, σ²), z sampled, trained on the negative ELBO: has a KL term, an IWAE bound, a prior to sample.</summary>
    Variational,
    /// <summary>A variational autoencoder of p(x|y): the one-hot class y appended to the encoder's input and to z.</summary>
    ConditionalVariational,
    /// <summary>Predicts the class; its features score generated images.</summary>
    Classifier,
    /// <summary>A variational autoencoder whose decoder is also a GAN's generator, trained against a discriminator
    /// (the VAE-GAN): everything a <see cref="Variational"/> model has, and parts trained on their own losses at their own
    /// learning rates, adversarial numbers per epoch and a collapse watch.</summary>
    VariationalAdversarial,
}

/// <summary>
/// One entry of the registry of model kinds: the name on the command line and in checkpoints, its family, its
/// architecture, the factory that builds it, and what follows from the family (labels, a KL term, a prior, a decoder).
/// Code asks the entry, never the spelling of the name. A new model is one entry in <see cref="All"/>.
/// </summary>
public sealed record ModelKind(string Name, string Label, ModelFamily Family, Architecture Architecture, string Description,
    Func<IBackend, ModelSpec, int, long, IModel> Factory)
{
    /// <summary>Has μ and log σ², a KL term, an ELBO and an IWAE bound, training noise and a prior N(0, I) to sample.</summary>
    public bool IsVariational => Family is ModelFamily.Variational or ModelFamily.ConditionalVariational or ModelFamily.VariationalAdversarial;
    /// <summary>Has a discriminator: trains its parts at their own learning rates (<see cref="IPartedModel"/>), writes the
    /// adversarial columns of metrics.csv and stops when the adversarial game collapses (<see cref="Training.CollapseWatch"/>).</summary>
    public bool IsAdversarial => Family == ModelFamily.VariationalAdversarial;
    /// <summary>Conditioned on the class: needs it to encode, decode and sample.</summary>
    public bool IsConditional => Family == ModelFamily.ConditionalVariational;
    /// <summary>Trained and evaluated with the one-hot labels gathered beside the images.</summary>
    public bool NeedsLabels => Family is ModelFamily.ConditionalVariational or ModelFamily.Classifier;
    /// <summary>Width of the condition appended to the encoder's input and to z (the one-hot class), 0 for none.</summary>
    public int ConditionWidth => IsConditional ? Classifier.Classes : 0;
    /// <summary>Has a decoder: `gpuae decode` works, reconstructions exist.</summary>
    public bool HasDecoder => Family != ModelFamily.Classifier;
    /// <summary>Draws images from its prior N(0, I): `gpuae sample`.</summary>
    public bool SamplesPrior => IsVariational;
    /// <summary>One of the autoencoders the study (`gpuae report --models`) trains and compares.</summary>
    public bool InStudy => Family != ModelFamily.Classifier;
    /// <summary>The study trains it at every latent width; a conditional model and the VAE-GAN at 2-D only, beside the
    /// notebook's 2-D VAE (and the conv-VAE whose encoder and decoder the VAE-GAN shares).</summary>
    public bool AtEveryWidth => !IsConditional && !IsAdversarial;
    /// <summary>The latent explorer draws its plane (dense, 2-D latent) and decodes it in the page (a conditional model's
    /// plane with a class selector).</summary>
    public bool Explorable => Architecture == Architecture.Dense && InStudy;

    /// <summary>The dense kind of the same family, what a conv model is compared with; none for the VAE-GAN (its
    /// counterpart is the conv-VAE, whose encoder and decoder it shares).</summary>
    public ModelKind? DenseCounterpart => All.FirstOrDefault(k => k.Family == Family && k.Architecture == Architecture.Dense);

    public override string ToString() => Name;

    public static readonly ModelKind Ae = new("ae", "AE", ModelFamily.Autoencoder, Architecture.Dense,
        "the dense autoencoder (the notebook's)", (b, s, batch, _) => new Autoencoder(b, batch, s.CodeActivation, codeSize: s.LatentSize));
    public static readonly ModelKind Vae = new("vae", "VAE", ModelFamily.Variational, Architecture.Dense,
        "the variational autoencoder (the notebook's)", (b, s, batch, warmup) => new VariationalAutoencoder(b, batch, s.LatentSize, s.Beta, warmup));
    public static readonly ModelKind ConvAe = new("conv-ae", "conv-AE", ModelFamily.Autoencoder, Architecture.Conv,
        "the convolutional autoencoder",
        (b, s, batch, _) => new Autoencoder(b, batch, s.CodeActivation, codeSize: s.LatentSize, architecture: Architecture.Conv));
    public static readonly ModelKind ConvVae = new("conv-vae", "conv-VAE", ModelFamily.Variational, Architecture.Conv,
        "the convolutional VAE",
        (b, s, batch, warmup) => new VariationalAutoencoder(b, batch, s.LatentSize, s.Beta, warmup, architecture: Architecture.Conv));
    public static readonly ModelKind Cvae = new("cvae", "CVAE", ModelFamily.ConditionalVariational, Architecture.Dense,
        "the conditional VAE (the class appended to the encoder's input and to z)",
        (b, s, batch, warmup) => new ConditionalVae(b, batch, s.LatentSize, s.Beta, warmup));
    public static readonly ModelKind ClassifierKind = new("classifier", "classifier", ModelFamily.Classifier, Architecture.Conv,
        "the Fashion-MNIST classifier that scores generated images", (b, _, batch, _) => new Classifier(b, batch));
    public static readonly ModelKind VaeGanKind = new("vae-gan", "VAE-GAN", ModelFamily.VariationalAdversarial, Architecture.Conv,
        "the VAE-GAN of Larsen et al. (2016): the conv-VAE's encoder and decoder, the decoder also a GAN's generator against a " +
        "convolutional discriminator whose features measure the reconstruction",
        (b, s, batch, warmup) => new VaeGan(b, batch, s.LatentSize, s.Beta, warmup, s.Adversarial ?? new AdversarialSettings()));

    /// <summary>Every kind, in the order the command line lists them.</summary>
    public static readonly IReadOnlyList<ModelKind> All = [Ae, Vae, ConvAe, ConvVae, Cvae, ClassifierKind, VaeGanKind];

    public static IEnumerable<string> Names(Func<ModelKind, bool>? where = null) => All.Where(where ?? (_ => true)).Select(k => k.Name);

    /// <summary>The kind of a name, or null.</summary>
    public static ModelKind? Find(string name) => All.FirstOrDefault(k => k.Name == name);

    /// <summary>The kind of a name; an unknown one is a user error naming the known ones.</summary>
    public static ModelKind Named(string name) =>
        Find(name) ?? throw new UserError($"unknown model '{name}': use {string.Join(", ", Names())}");
}

/// <summary>What defines a model on the command line: its kind and the flags that shape it. Latent is the width of the
/// latent, one flag for every family: the AE's code (default 32, the notebook's) or the VAE's z (default 2). Adversarial:
/// the VAE-GAN's γ and learning rates (null: the defaults).</summary>
public sealed record ModelSpec(string Kind, Activation CodeActivation = Activation.Relu, int? Latent = null, float Beta = 1f, int KlWarmupEpochs = 0,
    AdversarialSettings? Adversarial = null)
{
    public const int DefaultAeCode = 32, DefaultVaeLatent = 2;
    /// <summary>The widest latent: an image's 784 pixels.</summary>
    public const int MaxLatent = 784;

    /// <summary>The registry's entry for <see cref="Kind"/>.</summary>
    public ModelKind Model => ModelKind.Named(Kind);
    public int LatentSize => Latent ?? (Model.IsVariational ? DefaultVaeLatent : DefaultAeCode);
}

public static class Models
{
    public static IModel Create(IBackend backend, ModelSpec spec, int batch, int stepsPerEpoch) =>
        spec.Model.Factory(backend, spec, batch, (long)spec.KlWarmupEpochs * stepsPerEpoch);

    /// <summary>The model spec a checkpoint's metadata describes.</summary>
    public static ModelSpec SpecOf(IReadOnlyDictionary<string, string> metadata, string path)
    {
        string name = Checkpoint.Get(metadata, "model", path);
        var kind = ModelKind.Find(name) ?? throw new UserError($"{path} holds an unknown model kind '{name}'");
        return kind.Family switch
        {
            ModelFamily.Classifier => new ModelSpec(name),
            ModelFamily.Autoencoder => new ModelSpec(name, Checkpoint.Get(metadata, "code_activation", path) == "linear" ? Activation.None : Activation.Relu,
                Width(metadata, "code", path)),
            ModelFamily.VariationalAdversarial => VariationalSpec(metadata, path, name) with { Adversarial = AdversarialSettings.Of(metadata, path) },
            _ => VariationalSpec(metadata, path, name),
        };
    }

    static ModelSpec VariationalSpec(IReadOnlyDictionary<string, string> metadata, string path, string name) =>
        new(name, Latent: Width(metadata, "latent", path), Beta: Checkpoint.GetFloat(metadata, "beta", path));

    /// <summary>A latent width from a checkpoint's metadata: 1 to <see cref="ModelSpec.MaxLatent"/>, as training allows.</summary>
    static int Width(IReadOnlyDictionary<string, string> metadata, string key, string path) => Checkpoint.GetInt(metadata, key, path, 1, ModelSpec.MaxLatent);

    /// <summary>Rebuilds the architecture a checkpoint describes and loads its weights (and Adam's moments when asked).</summary>
    public static (IModel Model, IReadOnlyDictionary<string, string> Metadata) Load(IBackend backend, string path, int batch, bool withMoments = false) =>
        Load(backend, SafeTensors.Read(path), path, batch, withMoments);

    /// <summary>As <see cref="Load(IBackend, string, int, bool)"/>, from a checkpoint already read (the file is read once).</summary>
    public static (IModel Model, IReadOnlyDictionary<string, string> Metadata) Load(IBackend backend, SafeTensors.Contents contents, string path, int batch,
        bool withMoments = false)
    {
        var metadata = contents.Metadata;
        var spec = SpecOf(metadata, path);
        var model = spec.Model.Factory(backend, spec, batch, spec.Model.IsVariational ? Checkpoint.GetLong(metadata, "warmup_steps", path) : 0);
        if (model is VariationalAutoencoder vae) vae.Seed = (ulong)Checkpoint.GetLong(metadata, "seed", path);
        Checkpoint.Load(contents, path, backend, model, withMoments);
        return (model, metadata);
    }
}
