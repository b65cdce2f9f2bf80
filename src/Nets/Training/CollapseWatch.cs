using System.Globalization;

namespace GpuAe.Nets.Training;

/// <summary>
/// The VAE-GAN's collapse watch, beside the NaN watch: the adversarial game has collapsed when, for
/// <see cref="TrainOptions.CollapseEpochs"/> epochs in a row, the discriminator over the training epoch was at one of
/// two ends:
/// <list type="bullet">
/// <item>it wins outright: at least 99.9 % of the real and of the generated images classified right. D(x_r) and D(x_p)
/// are then near 0, where the decoder's adversarial gradient (the paper's minimax form, −L_GAN) vanishes: the decoder
/// no longer learns from the discriminator (a generator stuck at one output ends here);</item>
/// <item>it is lost: at most 0.1 % of the real or of the generated images right (it calls nearly every image of one
/// kind the other: the generator's loss log(1 − D) falls without bound), or its loss at least 3·ln 1000 ≈ 20.7 nats per image,
/// as if it gave the right class a probability of 1/1000 at each of its three decisions (a discriminator whose
/// learning rate blew its logits up flips between calling everything real and everything fake: its accuracy looks
/// middling, its loss does not).</item>
/// </list>
/// Each epoch's verdict is metrics.csv's collapse column; training stops with one line, as on a NaN, and the checkpoint
/// of the last epoch before the stop is kept (the epoch that tripped the watch is in metrics.csv, not in the checkpoint).
/// </summary>
public static class CollapseWatch
{
    /// <summary>Epochs in a row before training stops: long enough that a discriminator that wins an early epoch, as it
    /// can before the decoder has learnt anything, is not mistaken for a collapse.</summary>
    public const int DefaultEpochs = 3;

    /// <summary>The share of right decisions that counts as pinned at 100 %, and one minus it at 0 %.</summary>
    public const double Pinned = 0.999;

    /// <summary>The discriminator's loss per image (three decisions) past which it is lost: 3·ln 1000.</summary>
    public static readonly double LostLoss = 3 * Math.Log(1000);

    /// <summary>What is wrong with this epoch's game, in words, or null when nothing is.</summary>
    public static string? Symptom(AdversarialMetrics m)
    {
        string numbers = string.Create(CultureInfo.InvariantCulture,
            $"D(x) {m.DReal:F3}, D(x_r) {m.DReconstructed:F3}, D(x_p) {m.DPrior:F3}, right on {m.AccuracyReal:P1} of the real and {m.AccuracyGenerated:P1} " +
            $"of the generated images, loss {m.DiscriminatorLoss:G4} nats per image");
        if (m.AccuracyReal >= Pinned && m.AccuracyGenerated >= Pinned)
            return $"the discriminator wins outright ({numbers}): the decoder's adversarial gradient vanishes";
        if (m.AccuracyReal <= 1 - Pinned || m.AccuracyGenerated <= 1 - Pinned || !(m.DiscriminatorLoss < LostLoss))
            return $"the discriminator is lost ({numbers})";
        return null;
    }

    /// <summary>Why training stops after the epochs of <paramref name="history"/>: its last <paramref name="epochs"/>
    /// epochs all collapsed (see <see cref="Symptom"/>); null to go on, always with 0 epochs.</summary>
    public static string? Stop(IReadOnlyList<EpochMetrics> history, int epochs)
    {
        if (epochs < 1 || history.Count < epochs) return null;
        var last = history.Skip(history.Count - epochs).ToList();
        if (last.Any(m => m.Adversarial is not { } a || Symptom(a) is null)) return null;
        string span = epochs == 1 ? $"epoch {last[0].Epoch}" : $"epochs {last[0].Epoch}–{last[^1].Epoch}";
        return $"the adversarial game collapsed in {span}: {Symptom(last[^1].Adversarial!)}";
    }
}
