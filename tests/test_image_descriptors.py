"""Image descriptors: known values on synthetic images, agreement with reference libraries, ranges on
real D-ViSA images, and input validation."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
import pytest

from handcrafted.image import GLCM_LEVELS, ImageContext, as_rgb_uint8, describe_image
from handcrafted.image.colour import palette
from handcrafted.image.texture import (
    GLCM_ANGLES,
    GLCM_DISTANCES,
    glcm_matrices,
    glcm_offsets,
    glcm_properties,
    tamura_coarseness,
    tamura_contrast,
    tamura_directionality,
    uniform_lbp,
)
from handcrafted.image.texture import lbp as lbp_module
from handcrafted.image.texture import spectrum as spectrum_module
from handcrafted.image.texture import tamura as tamura_module
from handcrafted.registry import IMAGE_GROUPS, REGISTRY
from resonance.errors import ParameterError
from resonance.io.image import load_image


def solid(rgb: tuple[int, int, int], size: tuple[int, int] = (32, 48)) -> np.ndarray:
    image = np.empty((*size, 3), dtype=np.uint8)
    image[...] = rgb
    return image


def checkerboard(size: int = 8, low: int = 0, high: int = 255) -> np.ndarray:
    rows, cols = np.indices((size, size))
    return np.where((rows + cols) % 2 == 0, low, high).astype(np.uint8)


@pytest.fixture(scope="module")
def dvisa_images(request) -> list[np.ndarray]:
    root = request.getfixturevalue("shared_data") / "d-visa" / "data"
    paths = sorted(root.glob("*.jpg"))[::900][:3]
    assert len(paths) == 3
    return [load_image(path)[0] for path in paths]


# ------------------------------------------------------------------------------------------------
# Colour


def test_pure_red_has_hue_zero_and_full_saturation():
    values = describe_image(solid((255, 0, 0)), groups="colour")
    assert values["hue_mean"] == 0.0
    # OpenCV's float HSV divides by max + FLT_EPSILON: full saturation is 1 - 1.2e-7
    assert values["saturation_mean"] == pytest.approx(1.0, abs=1e-6)
    assert values["saturation_std"] == pytest.approx(0.0, abs=1e-6)
    assert values["hue_circular_variance"] == pytest.approx(0.0, abs=1e-12)
    assert values["hue_hist_00"] == pytest.approx(1.0)
    assert values["warm_fraction"] == 1.0 and values["warm_cool_balance"] == 1.0


@pytest.mark.parametrize(("rgb", "hue", "hist_bin"), [((0, 255, 0), 120.0, 4), ((0, 0, 255), 240.0, 8),
                                                       ((255, 255, 0), 60.0, 2)])
def test_primary_hues(rgb, hue, hist_bin):
    values = describe_image(solid(rgb), groups=["colour"])
    assert values["hue_mean"] == pytest.approx(hue, abs=1e-4)  # cv2.polarToCart is ~1e-5 degree exact
    assert values[f"hue_hist_{hist_bin:02d}"] == pytest.approx(1.0)


def test_blue_is_cool():
    values = describe_image(solid((0, 0, 255)), groups=["colour"])
    assert values["cool_fraction"] == 1.0 and values["warm_fraction"] == 0.0
    assert values["warm_cool_balance"] == -1.0


def test_hue_mean_is_circular():
    # Two halves at 350 and 10 degrees: the circular mean is 0, not the arithmetic 180.
    image = np.concatenate([solid((255, 0, 43)), solid((255, 43, 0))], axis=1)
    hsv = ImageContext(image).hsv
    assert set(np.round(np.unique(hsv[..., 0]))) == {350.0, 10.0}
    values = describe_image(image, groups=["colour"])
    assert min(values["hue_mean"], 360 - values["hue_mean"]) < 0.5
    assert values["hue_vector_cos"] > 0.98


@pytest.mark.parametrize("level", [0, 77, 128, 255])
def test_grey_image_is_colourless(level):
    values = describe_image(solid((level, level, level)), groups=["colour"])
    assert values["colourfulness"] == pytest.approx(0.0, abs=1e-9)
    assert values["saturation_mean"] == 0.0
    assert values["lab_chroma_mean"] == pytest.approx(0.0, abs=0.1)  # OpenCV's float Lab: see below
    # the documented conventions for an image without hue
    assert values["hue_mean"] == 0.0 and values["hue_circular_variance"] == 1.0
    assert all(values[f"hue_hist_{k:02d}"] == 0.0 for k in range(12))
    assert values["warm_cool_balance"] == 0.0


def test_colourfulness_by_hand():
    # Half red, half green: rg = R - G is +255 / -255 (mean 0, sd 255); yb = (R + G)/2 - B is 127.5
    # everywhere (mean 127.5, sd 0). M3 = sqrt(255^2 + 0) + 0.3 * sqrt(0 + 127.5^2).
    image = np.concatenate([solid((255, 0, 0)), solid((0, 255, 0))], axis=1)
    expected = 255.0 + 0.3 * 127.5
    value = describe_image(image, groups=["colour"])["colourfulness"]
    assert value == pytest.approx(expected, rel=1e-5)
    assert value <= REGISTRY["colourfulness"].range[1]


def test_brighter_image_has_higher_brightness():
    rng = np.random.default_rng(3)
    dark = rng.integers(0, 120, (40, 40, 3)).astype(np.uint8)
    bright = dark + np.uint8(100)
    dark_values = describe_image(dark, groups=["colour"])
    bright_values = describe_image(bright, groups=["colour"])
    assert bright_values["brightness_mean"] > dark_values["brightness_mean"]
    assert bright_values["lab_l_mean"] > dark_values["lab_l_mean"]
    assert bright_values["valdez_pleasure"] > dark_values["valdez_pleasure"]


def test_lab_matches_scikit_image():
    # OpenCV interpolates the sRGB gamma curve: within a few tenths of a unit of the exact formula,
    # below the just-noticeable difference (delta E ~ 1).
    from skimage.color import rgb2lab

    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    np.testing.assert_allclose(ImageContext(image).lab, rgb2lab(image), atol=0.35)
    white = ImageContext(solid((255, 255, 255))).lab
    np.testing.assert_allclose(white[0, 0], [100.0, 0.0, 0.0], atol=1e-3)


def test_contrast_of_half_black_half_white():
    image = np.concatenate([solid((0, 0, 0)), solid((255, 255, 255))], axis=1)
    values = describe_image(image, groups=["colour"])
    assert values["contrast_rms"] == pytest.approx(0.5)
    assert values["contrast_michelson"] == 1.0


def test_palette_of_two_colours():
    from skimage.color import deltaE_cie76, rgb2lab

    red, green = (200, 30, 30), (30, 160, 60)
    image = np.concatenate([solid(red), solid(green)], axis=1)
    values = describe_image(image, groups=["colour"])
    assert values["palette_entropy"] == pytest.approx(1.0)
    assert values["palette_colours_90"] == 2.0
    assert values["palette_dominant_share"] == pytest.approx(0.5)
    # Rao's quadratic entropy of two halves: 2 * 0.5 * 0.5 * dE(red, green)
    lab = rgb2lab(np.array([[red, green]], dtype=np.uint8))[0]
    assert values["palette_diversity"] == pytest.approx(0.5 * deltaE_cie76(lab[0], lab[1]), abs=0.2)


def test_palette_is_deterministic_and_complete():
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (30, 30, 3)).astype(np.uint8)
    first, counts = palette(pixels)
    second, counts_again = palette(pixels)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(counts, counts_again)
    assert len(counts) == 8 and counts.sum() == 900 and np.all(np.diff(counts) <= 0)
    # only two octants populated: OpenCV must still fill the other 6 clusters deterministically
    two_octants = np.where(rng.random((30, 30, 1)) < 0.5, rng.integers(0, 100, (30, 30, 3)),
                           rng.integers(156, 256, (30, 30, 3))).astype(np.uint8)
    centres, counts = palette(two_octants)
    assert counts.sum() == 900 and np.isfinite(centres).all()


def test_sample_keeps_every_second_pixel():
    image = np.random.default_rng(30).integers(0, 256, (20, 14, 3)).astype(np.uint8)
    sample = ImageContext(image).sample
    np.testing.assert_array_equal(sample.rgb, image[::2, ::2])
    odd = ImageContext(np.random.default_rng(31).integers(0, 256, (9, 11, 3)).astype(np.uint8)).sample
    assert (odd.height, odd.width) == (5, 6)
    tiny = ImageContext(solid((10, 20, 30), (8, 8))).sample  # below MIN_SIDE, allowed inside
    assert tiny.rgb.shape == (4, 4, 3) and not tiny.rgb.flags.writeable


def test_hue_descriptors_follow_from_the_sample():
    # the sector-based histogram and warm/cool counts equal direct computations on the sample
    image = cv2.GaussianBlur(np.random.default_rng(32).integers(0, 256, (40, 50, 3)).astype(np.uint8),
                             (0, 0), 2.0)
    sample = ImageContext(image).sample
    hue, saturation = sample.hue, sample.saturation
    index = ((hue.astype(np.float64) + 15) // 30).astype(int) % 12
    shares = np.bincount(index.ravel(), weights=saturation.ravel().astype(np.float64), minlength=12)
    shares /= saturation.sum(dtype=np.float64)
    values = describe_image(image, groups=["colour"])
    np.testing.assert_allclose([values[f"hue_hist_{k:02d}"] for k in range(12)], shares, atol=1e-12)
    chromatic = (saturation >= 0.2) & (sample.value >= 51)
    warm = chromatic & ((hue >= 330) | (hue < 90))
    assert values["warm_fraction"] == np.count_nonzero(warm) / hue.size
    assert values["cool_fraction"] == np.count_nonzero(chromatic & ~warm) / hue.size


def test_colour_statistics_are_exact_on_the_sample():
    image = np.random.default_rng(33).integers(0, 256, (30, 44, 3)).astype(np.uint8)
    sample = image[::2, ::2].astype(np.float64)
    red, green, blue = sample[..., 0], sample[..., 1], sample[..., 2]
    rg, yb = red - green, (red + green) / 2 - blue
    expected = math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean())
    values = describe_image(image, groups=["colour"])
    assert values["colourfulness"] == pytest.approx(expected, rel=1e-12)
    value = sample.max(axis=2) / 255
    assert values["brightness_mean"] == pytest.approx(value.mean(), rel=1e-12)
    assert values["brightness_std"] == pytest.approx(value.std(), rel=1e-12)
    lab = ImageContext(image).sample.lab.astype(np.float64)
    assert values["lab_l_mean"] == pytest.approx(lab[..., 0].mean(), rel=1e-6)
    assert values["lab_b_std"] == pytest.approx(lab[..., 2].std(), rel=1e-5)


def test_sampled_colour_statistics_stay_close_to_the_full_image(dvisa_images):
    from skimage.color import rgb2lab

    for image in dvisa_images:
        values = describe_image(image, groups=["colour"])
        lab = rgb2lab(image)
        assert values["lab_l_mean"] == pytest.approx(lab[..., 0].mean(), abs=1.0)
        assert values["lab_a_std"] == pytest.approx(lab[..., 1].std(), abs=1.0)
        hsv = ImageContext(image).hsv
        assert values["saturation_mean"] == pytest.approx(hsv[..., 1].mean(), abs=0.01)
        assert values["brightness_mean"] == pytest.approx(hsv[..., 2].mean(), abs=0.01)


# ------------------------------------------------------------------------------------------------
# Texture


def test_checkerboard_glcm_contrast_by_hand():
    board = checkerboard(8)  # 0 / 255 -> quantised levels 0 and 255 // 8 = 31
    levels = ImageContext(board).grey_levels
    assert set(np.unique(levels)) == {0, GLCM_LEVELS - 1}
    # One offset by hand: horizontally adjacent pixels always differ, so every pair is (0, 31) or
    # (31, 0) and contrast = sum P(i, j) (i - j)^2 = 31^2.
    from skimage.feature import graycomatrix

    one = graycomatrix(levels, [1], [0.0], levels=GLCM_LEVELS, symmetric=True, normed=True)
    assert glcm_properties(one)["contrast"][0, 0] == pytest.approx(31.0 ** 2)
    # The descriptor averages 12 offsets (round(d sin a), round(d cos a)); on a checkerboard a pair
    # differs exactly when the offset's row + column is odd.
    offsets = [(round(d * math.sin(a)), round(d * math.cos(a))) for d in GLCM_DISTANCES for a in GLCM_ANGLES]
    differing = sum((dr + dc) % 2 for dr, dc in offsets)
    expected = 31.0 ** 2 * differing / len(offsets)
    assert describe_image(board, groups=["texture"])["glcm_contrast"] == pytest.approx(expected)


def test_glcm_properties_match_graycoprops(dvisa_images):
    from skimage.feature import graycomatrix, graycoprops

    levels = ImageContext(dvisa_images[0]).grey_levels
    matrices = graycomatrix(levels, list(GLCM_DISTANCES), list(GLCM_ANGLES), levels=GLCM_LEVELS,
                            symmetric=True)
    ours = glcm_properties(matrices)
    for name in ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM"):
        np.testing.assert_allclose(ours[name], graycoprops(matrices, name), rtol=1e-9, atol=1e-12)


def test_flat_image_has_no_texture():
    values = describe_image(solid((90, 90, 90)), groups=["texture"])
    assert values["edge_density"] == 0.0
    assert values["glcm_contrast"] == 0.0 and values["glcm_homogeneity"] == 1.0
    assert values["glcm_asm"] == 1.0 and values["glcm_correlation"] == 1.0  # documented convention
    assert values["tamura_contrast"] == 0.0 and values["tamura_directionality"] == 0.0
    assert values["tamura_coarseness"] == 32.0  # ties go to the largest window
    assert values["spectral_high_frequency"] == 0.0 and values["spectral_slope"] == 0.0


def test_edge_density_of_a_step():
    image = np.zeros((40, 40), dtype=np.uint8)
    image[:, 20:] = 255
    density = describe_image(image, groups=["texture"])["edge_density"]
    assert 0 < density <= 2 * 40 / 1600  # one edge line, at most two pixels wide


def test_lbp_matches_scikit_image(dvisa_images):
    from skimage.feature import local_binary_pattern

    grey = ImageContext(dvisa_images[1]).grey
    expected = local_binary_pattern(grey, 8, 1, method="uniform")
    np.testing.assert_array_equal(uniform_lbp(grey), expected)
    random = np.random.default_rng(6).integers(0, 256, (30, 41)).astype(np.uint8)
    np.testing.assert_array_equal(uniform_lbp(random), local_binary_pattern(random, 8, 1, method="uniform"))


def test_glcm_counts_equal_graycomatrix(dvisa_images):
    # the cv2.calcHist counts are a measured speed trade; scikit-image is their reference path
    from skimage.feature import graycomatrix

    random = np.random.default_rng(12).integers(0, GLCM_LEVELS, (37, 50)).astype(np.uint8)
    for levels in (ImageContext(dvisa_images[0]).grey_levels, random):
        expected = graycomatrix(levels, list(GLCM_DISTANCES), list(GLCM_ANGLES), levels=GLCM_LEVELS, symmetric=True)
        np.testing.assert_array_equal(glcm_matrices(levels, levels=GLCM_LEVELS), expected.astype(np.float64))


def test_glcm_descriptors_against_the_scikit_image_path(dvisa_images):
    # the descriptor counts the pairs starting on the quincunx only: within 1.5% (documented) of
    # graycomatrix + graycoprops over every pair, averaged over the 12 offsets
    from skimage.feature import graycomatrix, graycoprops

    for image in dvisa_images:
        levels = ImageContext(image).grey_levels
        matrices = graycomatrix(levels, list(GLCM_DISTANCES), list(GLCM_ANGLES), levels=GLCM_LEVELS,
                                symmetric=True, normed=True)
        values = describe_image(image, groups=["texture"])
        for prop, name in (("contrast", "glcm_contrast"), ("dissimilarity", "glcm_dissimilarity"),
                           ("homogeneity", "glcm_homogeneity"), ("energy", "glcm_energy"),
                           ("correlation", "glcm_correlation"), ("ASM", "glcm_asm")):
            assert values[name] == pytest.approx(float(graycoprops(matrices, prop).mean()), rel=0.015), name


def test_lbp_descriptors_equal_the_scikit_image_path(dvisa_images):
    from skimage.feature import local_binary_pattern

    random = np.random.default_rng(13).integers(0, 256, (41, 30)).astype(np.uint8)
    for grey in (ImageContext(dvisa_images[1]).grey, random):
        codes = local_binary_pattern(grey, 8, 1, method="uniform").astype(int)
        counts = np.bincount(codes.ravel(), minlength=10) / codes.size
        shares = counts[counts > 0]
        values = describe_image(grey, groups=["texture"])
        assert values["lbp_entropy"] == pytest.approx(float(-(shares * np.log2(shares)).sum()), rel=1e-12)
        assert values["lbp_nonuniform_fraction"] == pytest.approx(float(counts[9]), rel=1e-12)


def test_lbp_descriptors_follow_from_the_lbp_image():
    image = np.random.default_rng(7).integers(0, 256, (30, 30)).astype(np.uint8)
    counts = np.bincount(uniform_lbp(image).ravel(), minlength=10) / 900
    shares = counts[counts > 0]
    values = describe_image(image, groups=["texture"])
    assert values["lbp_entropy"] == pytest.approx(-(shares * np.log2(shares)).sum())
    assert values["lbp_nonuniform_fraction"] == pytest.approx(counts[9])


def _naive_coarseness(grey: np.ndarray, scales: int = 5, step: int = 1) -> float:
    """Tamura coarseness with explicit loops (the definition, slowly), mirrored borders, averaged over
    the pixels of every ``step``-th row and column."""
    values = np.pad(grey.astype(np.float64), 2 ** scales, mode="reflect")
    margin = 2 ** scales
    sizes = []
    for y in range(0, grey.shape[0], step):
        for x in range(0, grey.shape[1], step):
            row, col = y + margin, x + margin
            best, best_size = -1.0, 0
            for k in range(1, scales + 1):
                half, size = 2 ** (k - 1), 2 ** k
                horizontal = abs(values[row - half: row + half, col: col + size].mean()
                                 - values[row - half: row + half, col - size: col].mean())
                vertical = abs(values[row: row + size, col - half: col + half].mean()
                               - values[row - size: row, col - half: col + half].mean())
                energy = max(horizontal, vertical)
                if energy >= best - 1e-9:  # ties to the larger window
                    best, best_size = max(best, energy), size
            sizes.append(best_size)
    return float(np.mean(sizes))


def test_tamura_coarseness_matches_the_definition():
    rng = np.random.default_rng(8)
    small = rng.integers(0, 256, (12, 17)).astype(np.uint8)
    assert tamura_coarseness(small) == pytest.approx(_naive_coarseness(small))
    blocks = np.kron(rng.integers(0, 256, (3, 3)), np.ones((8, 8))).astype(np.uint8)
    assert tamura_coarseness(blocks) == pytest.approx(_naive_coarseness(blocks))
    assert tamura_coarseness(blocks) > tamura_coarseness(small)


def test_tamura_contrast_by_hand():
    half = np.zeros((10, 10), dtype=np.uint8)
    half[:, 5:] = 255
    # sigma = 127.5 and kurtosis = 1 for two equal spikes: sigma / 1^(1/4)
    assert tamura_contrast(half) == pytest.approx(127.5)


def test_tamura_directionality():
    columns = np.arange(64)
    stripes = np.tile((127 + 120 * np.sin(columns / 3.0)).astype(np.uint8), (64, 1))
    assert tamura_directionality(stripes) == pytest.approx(1.0)
    noise = np.random.default_rng(9).integers(0, 256, (64, 64)).astype(np.uint8)
    assert tamura_directionality(noise) < 0.7
    assert tamura_directionality(np.full((16, 16), 50, np.uint8)) == 0.0


def test_white_noise_spectrum_is_flat():
    noise = np.random.default_rng(10).integers(0, 256, (128, 128)).astype(np.uint8)
    values = describe_image(noise, groups=["texture"])
    assert abs(values["spectral_slope"]) < 0.3
    # white noise spreads power evenly over the frequency square [-0.5, 0.5]^2: the share beyond
    # radius 0.25 is its area outside the circle, 1 - pi / 16
    assert values["spectral_high_frequency"] == pytest.approx(1 - math.pi / 16, abs=0.03)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3.0)
    assert describe_image(smooth, groups=["texture"])["spectral_slope"] < -2.0


def test_glcm_matrices_equal_graycomatrix(dvisa_images):
    from skimage.feature import graycomatrix

    levels = ImageContext(dvisa_images[0]).grey_levels
    random = np.random.default_rng(20).integers(0, GLCM_LEVELS, (13, 9)).astype(np.uint8)
    for image in (levels, random):
        expected = graycomatrix(image, list(GLCM_DISTANCES), list(GLCM_ANGLES), levels=GLCM_LEVELS,
                                symmetric=True)
        np.testing.assert_array_equal(glcm_matrices(image, levels=GLCM_LEVELS), expected)


def _naive_quincunx_glcm(image: np.ndarray) -> np.ndarray:
    """Symmetric counts of the pairs whose first pixel (y, x) has y + x even, by explicit loops."""
    counts = np.zeros((GLCM_LEVELS, GLCM_LEVELS, len(GLCM_DISTANCES), len(GLCM_ANGLES)))
    for index, (dr, dc) in enumerate(glcm_offsets()):
        d, a = divmod(index, len(GLCM_ANGLES))
        for y in range(image.shape[0]):
            for x in range(y % 2, image.shape[1], 2):
                if 0 <= y + dr < image.shape[0] and 0 <= x + dc < image.shape[1]:
                    counts[image[y, x], image[y + dr, x + dc], d, a] += 1
    return counts + counts.transpose(1, 0, 2, 3)


def test_glcm_quincunx_counts_the_quincunx_pairs():
    rng = np.random.default_rng(21)
    for shape in [(9, 13), (10, 10), (8, 17)]:
        image = rng.integers(0, GLCM_LEVELS, shape).astype(np.uint8)
        np.testing.assert_array_equal(glcm_matrices(image, levels=GLCM_LEVELS, quincunx=True),
                                      _naive_quincunx_glcm(image))


def test_glcm_descriptors_come_from_the_quincunx_matrices(dvisa_images):
    context = ImageContext(dvisa_images[1])
    properties = glcm_properties(glcm_matrices(context.grey_levels, levels=GLCM_LEVELS, quincunx=True))
    values = describe_image(dvisa_images[1], groups=["texture"])
    assert values["glcm_contrast"] == pytest.approx(properties["contrast"].mean(), rel=1e-12)
    assert values["glcm_asm"] == pytest.approx(properties["ASM"].mean(), rel=1e-12)
    # and stay close to the full count (documented: within 1.5% on D-ViSA)
    full = glcm_properties(glcm_matrices(context.grey_levels, levels=GLCM_LEVELS))
    assert values["glcm_contrast"] == pytest.approx(full["contrast"].mean(), rel=0.03)


def test_lbp_integer_ratio_orders_every_pair_like_the_interpolation():
    # The diagonal neighbour minus the centre is a (d + r s); its sign is taken from 577 d + 239 s.
    frac = round(math.cos(math.pi / 4), 5)  # scikit-image's rounded offset
    r = (1 - frac) / frac
    d = np.arange(-255, 256, dtype=np.float64)[:, None]
    s = np.arange(-510, 511, dtype=np.float64)[None, :]
    p, q = lbp_module._LBP_DIAGONAL_RATIO
    np.testing.assert_array_equal(np.sign(q * d + p * s), np.sign(d + r * s))


def test_lbp_fast_codes_equal_the_interpolated_codes():
    rng = np.random.default_rng(22)
    images = [rng.integers(0, 256, (23, 31)).astype(np.uint8),
              rng.integers(100, 104, (16, 16)).astype(np.uint8),  # many exact ties
              np.kron(rng.integers(0, 256, (4, 4)), np.ones((3, 3))).astype(np.uint8)]
    for image in images:
        slow = np.zeros(image.shape, dtype=np.uint8)
        for p, bit in enumerate(lbp_module._neighbour_bits(image, 8, 1.0)):
            slow |= bit << p
        np.testing.assert_array_equal(lbp_module._lbp8_codes(image), slow)


def test_tamura_sampled_coarseness_matches_the_definition():
    rng = np.random.default_rng(23)
    for shape in [(12, 17), (16, 16), (9, 21)]:
        image = rng.integers(0, 256, shape).astype(np.uint8)
        assert tamura_coarseness(image, step=2) == pytest.approx(_naive_coarseness(image, step=2))
    blocks = np.kron(rng.integers(0, 256, (3, 3)), np.ones((8, 8))).astype(np.uint8)
    assert tamura_coarseness(blocks, step=2) == pytest.approx(_naive_coarseness(blocks, step=2))


def test_tamura_sampled_directionality_uses_the_same_derivatives():
    # step=2 must equal the full-image computation restricted to the pixels (2i, 2j)
    rng = np.random.default_rng(24)
    image = cv2.GaussianBlur(rng.integers(0, 256, (41, 36)).astype(np.uint8), (0, 0), 1.5)
    values = image.astype(np.float32)
    kernel = np.array([[-1, 0, 1]] * 3, dtype=np.float32)
    d_h = cv2.filter2D(values, -1, kernel, borderType=cv2.BORDER_REFLECT_101)[::2, ::2]
    d_v = cv2.filter2D(values, -1, -kernel.T, borderType=cv2.BORDER_REFLECT_101)[::2, ::2]
    strong = np.abs(d_h) + np.abs(d_v) >= 24
    degrees = np.degrees(np.arctan2(d_v[strong], d_h[strong])) % 180.0
    histogram = np.bincount(np.minimum((degrees / (180 / 16)).astype(int), 15), minlength=16)
    histogram = histogram / histogram.sum()
    peak = int(np.argmax(histogram))
    steps = np.abs(np.arange(16) - peak)
    spread = ((np.minimum(steps, 16 - steps) * math.pi / 16) ** 2 * histogram).sum()
    expected = 1 - spread / tamura_module._directionality_normaliser(16)
    # cv2.phase is ~0.3 degree accurate: an orientation next to a bin edge may land in the neighbour
    assert tamura_directionality(image, step=2) == pytest.approx(expected, abs=0.02)
    stripes = np.tile((127 + 120 * np.sin(np.arange(64) / 3.0)).astype(np.uint8), (64, 1))
    assert tamura_directionality(stripes, step=2) == pytest.approx(1.0)


def _direct_spectrum(grey_float: np.ndarray) -> tuple[float, float]:
    """High-frequency share and spectral slope from the full double-precision FFT, each annulus summed
    directly (the definition, without the radial sort and segment sums)."""
    rows, cols = grey_float.shape
    window = cv2.createHanningWindow((cols, rows), cv2.CV_32F).astype(np.float64)
    grey = grey_float.astype(np.float64)
    power = np.abs(np.fft.fft2((grey - grey.mean()) * window)) ** 2
    radius = np.hypot(np.fft.fftfreq(rows)[:, None], np.fft.fftfreq(cols)[None, :])
    total = power[radius > 0].sum()
    high = power[radius > spectrum_module.HIGH_FREQUENCY].sum() / total
    edges = np.geomspace(*spectrum_module.SLOPE_RANGE, spectrum_module.SLOPE_BINS + 1)
    x, y = [], []
    for low, top in zip(edges[:-1], edges[1:]):
        band = (radius >= low) & (radius < top)
        if band.any() and power[band].sum() > 0:
            x.append(np.log10(radius[band]).mean())
            y.append(np.log10(power[band].mean()))
    slope = np.polyfit(x, y, 1)[0] if len(x) >= 3 else 0.0
    return float(high), float(slope)


def test_spectrum_equals_the_direct_annulus_sums(dvisa_images):
    rng = np.random.default_rng(25)
    images = [dvisa_images[0], rng.integers(0, 256, (37, 50)).astype(np.uint8),
              cv2.GaussianBlur(rng.integers(0, 256, (64, 45)).astype(np.uint8), (0, 0), 2.0),
              rng.integers(0, 256, (9, 12)).astype(np.uint8)]  # empty bands
    for image in images:
        values = describe_image(image, groups=["texture"])
        high, slope = _direct_spectrum(ImageContext(image).grey_float)
        assert values["spectral_high_frequency"] == pytest.approx(high, rel=1e-5)
        assert values["spectral_slope"] == pytest.approx(slope, rel=1e-4, abs=1e-6)


def test_canny_edges_are_opencv_blur_then_canny(dvisa_images):
    # the edge map is cv2.GaussianBlur (sigma 1, the library call that replaced a hand-written
    # fixed-point copy of it) then cv2.Canny 50/150 with the L2 gradient
    rng = np.random.default_rng(26)
    grey = ImageContext(dvisa_images[1]).grey
    images = [grey, grey[3:-2, 1:], rng.integers(0, 256, (37, 50)).astype(np.uint8),
              rng.integers(0, 256, (8, 9)).astype(np.uint8), np.full((20, 20), 255, np.uint8),
              checkerboard(16), (rng.random((31, 33)) > 0.5).astype(np.uint8) * 255]
    for image in images:
        expected = cv2.Canny(cv2.GaussianBlur(image, (0, 0), 1.0), 50, 150, L2gradient=True) > 0
        np.testing.assert_array_equal(ImageContext(image).edges, expected)


# ------------------------------------------------------------------------------------------------
# Composition


def test_mirror_symmetric_image():
    rng = np.random.default_rng(11)
    left = rng.integers(0, 256, (30, 20, 3)).astype(np.uint8)
    image = np.concatenate([left, left[:, ::-1]], axis=1)
    values = describe_image(image, groups=["composition"])
    assert values["symmetry_left_right"] == 1.0
    assert values["symmetry_top_bottom"] < 0.9
    assert describe_image(image.transpose(1, 0, 2), groups=["composition"])["symmetry_top_bottom"] == 1.0


def test_symmetry_is_one_minus_the_mean_mirror_difference():
    grey = np.random.default_rng(27).integers(0, 256, (21, 34)).astype(np.uint8)
    values = describe_image(grey, groups=["composition"])
    expected_lr = 1 - np.abs(grey.astype(int) - grey[:, ::-1]).sum() / (255.0 * grey.size)
    expected_tb = 1 - np.abs(grey.astype(int) - grey[::-1, :]).sum() / (255.0 * grey.size)
    assert values["symmetry_left_right"] == expected_lr
    assert values["symmetry_top_bottom"] == expected_tb


def test_complexity_grows_with_detail():
    flat = describe_image(solid((120, 60, 30)), groups=["composition"])["complexity_jpeg"]
    rng = np.random.default_rng(12)
    blobs = cv2.GaussianBlur(rng.integers(0, 256, (32, 48, 3)).astype(np.uint8), (0, 0), 4)
    noise = rng.integers(0, 256, (32, 48, 3)).astype(np.uint8)
    smooth_value = describe_image(blobs, groups=["composition"])["complexity_jpeg"]
    noise_value = describe_image(noise, groups=["composition"])["complexity_jpeg"]
    assert flat == pytest.approx(0.0, abs=0.01) and flat < smooth_value < noise_value


def test_saliency_follows_an_object():
    image = np.zeros((90, 90), dtype=np.uint8)
    image[20:40, 20:40] = 255  # a square around the upper-left power point (30, 30)
    values = describe_image(image, groups=["composition"])
    assert values["saliency_centroid_x"] < 0.45 and values["saliency_centroid_y"] < 0.45
    assert values["saliency_thirds_distance"] < 0.3


def test_rule_of_thirds_reads_the_centre():
    image = solid((0, 0, 0), (30, 30))
    image[10:20, 10:20] = (255, 0, 0)
    values = describe_image(image, groups=["composition"])
    assert values["thirds_brightness"] == 1.0
    assert values["thirds_saturation"] == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------------------------------------
# Registry, real data, determinism


def test_registry_metadata_is_complete():
    descriptors = REGISTRY.select("image")
    assert len(descriptors) >= 50
    for descriptor in descriptors:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", descriptor.name), descriptor.name
        assert descriptor.group in IMAGE_GROUPS
        assert descriptor.label and descriptor.unit and descriptor.reference
        assert descriptor.range[0] < descriptor.range[1]
    assert {d.group for d in descriptors} == set(IMAGE_GROUPS)


def test_real_images_are_finite_and_in_range(dvisa_images):
    names = [d.name for d in REGISTRY.select("image")]
    for image in dvisa_images:
        values = describe_image(image)
        assert list(values) == [n for n in names if n in values] and set(values) == set(names)
        for name, value in values.items():
            low, high = REGISTRY[name].range
            assert math.isfinite(value), name
            assert low <= value <= high, f"{name} = {value} outside {low, high}"


def test_groups_select_and_describe_is_deterministic(dvisa_images):
    image = dvisa_images[2]
    full = describe_image(image)
    for size in (1, 13, 4099):  # shift the allocator so internal buffers get other memory alignments
        padding = np.empty(size, dtype=np.uint8)
        assert describe_image(image) == full
        del padding
    texture = describe_image(image, groups=["texture"])
    assert {REGISTRY[n].group for n in texture} == {"texture"}
    assert all(full[n] == v for n, v in texture.items())


def test_context_caches_each_representation():
    context = ImageContext(solid((10, 200, 30)))
    assert context.hsv is context.hsv and context.lab is context.lab and context.grey is context.grey
    assert not context.rgb.flags.writeable


def test_grey_and_float_inputs_are_equivalent():
    rng = np.random.default_rng(13)
    grey = rng.integers(0, 256, (20, 24)).astype(np.uint8)
    as_rgb = np.repeat(grey[..., None], 3, axis=2)
    assert describe_image(grey) == describe_image(as_rgb)
    assert describe_image(grey[..., None]) == describe_image(as_rgb)
    assert describe_image(as_rgb.astype(np.float64) / 255.0) == describe_image(as_rgb)


def test_max_side_downscales():
    image = np.random.default_rng(14).integers(0, 256, (100, 60, 3)).astype(np.uint8)
    context = ImageContext(image, max_side=50)
    assert (context.height, context.width) == (50, 30)
    assert ImageContext(image, max_side=500).rgb.shape == image.shape


# ------------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros((10, 10, 4), np.uint8), r"\(H, W, 3\).*RGBA"),
    (np.zeros((10, 10, 3, 1), np.uint8), r"shape \(H, W, 3\) or \(H, W\)"),
    (np.zeros(100, np.uint8), r"shape \(H, W, 3\) or \(H, W\)"),
    (np.zeros((4, 10, 3), np.uint8), r"at least 8 px"),
    (np.zeros((10, 10, 3), np.uint16), r"uint8 or float.*img_as_ubyte"),
    (np.zeros((10, 10, 3), bool), r"uint8 or float"),
    (np.full((10, 10, 3), 2.0), r"\[0, 1\].*divide 8-bit values by 255"),
    (np.full((10, 10, 3), np.nan), r"NaN"),
    ([[0, 1], [2, 3]], r"numpy array.*load_image"),
])
def test_invalid_images_are_rejected_with_advice(image, message):
    with pytest.raises(ParameterError, match=message):
        describe_image(image)
    with pytest.raises(ValueError):  # ParameterError is a ValueError
        as_rgb_uint8(image)


def test_invalid_options_are_rejected():
    image = solid((1, 2, 3))
    with pytest.raises(ParameterError, match=r"unknown image descriptor groups \['color'\]"):
        describe_image(image, groups=["color"])
    with pytest.raises(ParameterError, match="max_side"):
        describe_image(image, max_side=2)


def test_validation_does_not_alias_the_input():
    image = solid((5, 6, 7))
    context = ImageContext(image)
    image[...] = 0
    assert context.rgb[0, 0, 0] == 5 and image.flags.writeable
